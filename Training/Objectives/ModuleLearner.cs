using System.Security.Cryptography;
using FedActors.Training.Data;
using FedActors.Training.Randomness;
using FedActors.Training.Weights;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using FedActors.Training.Models;

namespace FedActors.Training.Objectives;

/// <summary>
/// A client whose whole federated state is one module trained by one optimiser (SGD with momentum
/// unless the subclass gives another): the module, the optimiser state, the step count and the RNG
/// persist across rounds, are saved in one versioned, hashed state and move between devices
/// together. Subclasses say how a round trains.
/// </summary>
public abstract class ModuleLearner : ILocalLearner
{
    private readonly string _stateKind;
    private readonly Func<IEnumerable<Parameter>, OptimizerHelper> _newOptimizer;
    private OptimizerHelper _optimizer;

    /// <summary>Creates the learner, moves <paramref name="module"/> to <paramref name="device"/> and builds its optimiser.</summary>
    /// <param name="stateKind">The name written into and required from saved state, so one learner's state cannot load into another kind.</param>
    /// <param name="module">The federated network; the learner owns it from now on and disposes it.</param>
    /// <param name="sgd">Batch size and local epochs, plus learning rate, momentum and weight decay for the default SGD.</param>
    /// <param name="rng">The learner's generator (batch order, augmentations); its position is part of the saved state.</param>
    /// <param name="device">Device training starts on.</param>
    /// <param name="optimizer">Builds the optimiser over the module's parameters; null: SGD with <paramref name="sgd"/>'s settings.</param>
    protected ModuleLearner(string stateKind, nn.Module<Tensor, Tensor> module, SimClrOptions sgd, SeededRandom rng, Device device,
        Func<IEnumerable<Parameter>, OptimizerHelper>? optimizer = null)
    {
        _stateKind = stateKind;
        Options = sgd;
        Module = module;
        Rng = rng;
        Device = device;
        module.to(device);
        _newOptimizer = optimizer ?? (parameters => Optimizers.Sgd(parameters, Options.LearningRate, Options.SgdMomentum, Options.WeightDecay));
        _optimizer = _newOptimizer(module.parameters());
    }

    /// <summary>When set, each step clips the gradients' global L2 norm to this before the update.</summary>
    protected double? GradientClipNorm { get; init; }

    /// <summary>The federated network: what is loaded, trained, exported and saved. Owned by the learner.</summary>
    protected nn.Module<Tensor, Tensor> Module { get; }
    /// <summary>The batch and epoch settings (and SGD's, for the default optimiser).</summary>
    protected SimClrOptions Options { get; }
    /// <summary>The learner's generator for batch order and augmentation draws; replaced when state is loaded.</summary>
    protected SeededRandom Rng { get; private set; }
    /// <summary>The device the module and optimiser state are on now (see <see cref="MoveTo"/>).</summary>
    protected Device Device { get; private set; }
    /// <summary>Optimiser steps taken so far, across rounds; saved with the state.</summary>
    protected long Steps { get; private set; }

    /// <inheritdoc/>
    public abstract LocalTrainingResult Train(ImageShard shard);

    /// <summary>
    /// One local round: <see cref="SimClrOptions.LocalEpochs"/> passes over <paramref name="pool"/> (shard indices) in a
    /// fresh seeded order, one optimiser step per full batch (a ragged tail gives a noisy, badly scaled step, so it is
    /// dropped), each inside its own dispose scope. <paramref name="lossOf"/> builds a batch's loss;
    /// <paramref name="afterStep"/> runs after each step, in the same scope (a momentum encoder following).
    /// </summary>
    protected LocalTrainingResult TrainEpochs(IReadOnlyList<int> pool, Func<ArraySegment<int>, Tensor> lossOf, Action? afterStep = null)
    {
        var batch = Math.Min(Options.BatchSize, pool.Count);
        double lossSum = 0;
        var steps = 0;
        for (var epoch = 0; epoch < Options.LocalEpochs; epoch++)
        {
            var order = Rng.Permutation(pool.Count).Select(i => pool[i]).ToArray();
            for (var start = 0; start + batch <= order.Length; start += batch)
            {
                using var scope = NewDisposeScope();
                lossSum += Step(lossOf(new ArraySegment<int>(order, start, batch)));
                steps++;
                afterStep?.Invoke();
            }
        }
        return new LocalTrainingResult(steps == 0 ? double.NaN : lossSum / steps, steps, pool.Count);
    }

    /// <summary>Every index of <paramref name="shard"/>, the pool of a round that trains on all of it.</summary>
    protected static int[] AllOf(ImageShard shard) => Enumerable.Range(0, shard.Count).ToArray();

    /// <summary>One optimiser step on <paramref name="loss"/>; returns its value.</summary>
    protected float Step(Tensor loss)
    {
        _optimizer.zero_grad();
        loss.backward();
        if (GradientClipNorm is { } clip) nn.utils.clip_grad_norm_(Module.parameters(), clip);
        _optimizer.step();
        Steps++;
        return loss.item<float>();
    }

    /// <inheritdoc/>
    public virtual void LoadGlobal(ModelWeights global) => global.LoadInto(Module);

    /// <inheritdoc/>
    public ModelWeights ExportWeights() => ModelWeights.FromModule(Module);

    /// <summary>Steps, optimiser-state checksum and RNG state; no queue (pointer 0, checksum empty).</summary>
    public LocalStateSummary DescribeState() =>
        new(Steps, 0, "", Convert.ToHexString(SHA256.HashData(OptimizerState())), Rng.State);

    /// <summary>
    /// Writes the module's weights, the step count, the RNG state, the optimiser state and any <see cref="SaveExtra"/>
    /// fields, under this learner's state kind, in <see cref="LearnerStateFormat"/>.
    /// </summary>
    /// <param name="stream">A writable stream; left open.</param>
    public void SaveState(Stream stream) =>
        LearnerStateFormat.Write(stream, _stateKind, w =>
        {
            w.Flush();
            ModelWeights.FromModule(Module).WriteTo(w.BaseStream);
            w.Write(Steps);
            foreach (var word in Rng.State) w.Write(word);
            var optimizer = OptimizerState();
            w.Write(optimizer.Length);
            w.Write(optimizer);
            SaveExtra(w);
        });

    /// <inheritdoc/>
    public void LoadState(Stream stream, string source)
    {
        ModelWeights weights = null!;
        long steps = 0;
        ulong[] rng = null!;
        byte[] optimizer = null!;
        Action? restoreExtra = null;
        LearnerStateFormat.Read(stream, source, _stateKind, r =>
        {
            weights = LearnerStateFormat.ReadWeights(r, "weights");
            steps = r.At("step count").ReadInt64();
            if (steps < 0) throw r.Error($"negative step count {steps}");
            rng = [.. Enumerable.Range(0, 4).Select(_ => r.At("rng state").ReadUInt64())];
            optimizer = r.At("optimizer state").ReadBytes(r.Length("optimizer state", 1));
            restoreExtra = ReadExtra(r);
        });
        LearnerStateFormat.Restore(source, "weights", () => weights.LoadInto(Module));
        Optimizers.Restore(source, _optimizer, optimizer, Device);
        Steps = steps;
        Rng = SeededRandom.FromState(rng);
        restoreExtra?.Invoke();
    }

    /// <summary>For state beside the module that persists across rounds (a feature bank): written after the optimiser state.</summary>
    protected virtual void SaveExtra(BinaryWriter w) { }

    /// <summary>Reads <see cref="SaveExtra"/>'s fields and returns how to apply them, run only once the whole state has been verified.</summary>
    protected virtual Action? ReadExtra(LearnerStateReader r) => null;

    /// <inheritdoc/>
    public void MoveTo(Device device)
    {
        if (MoCoV2Learner.SameDevice(device, Device)) return;
        Module.to(device);
        _optimizer = Optimizers.Rehome(Module, _optimizer, device, _newOptimizer);
        Device = device;
        OnMoved(device);
    }

    /// <summary>For state beside the module (a target network): follow it to <paramref name="device"/>.</summary>
    protected virtual void OnMoved(Device device) { }

    /// <summary>For state beside the module: release it.</summary>
    protected virtual void OnDispose() { }

    private byte[] OptimizerState() => Optimizers.Save(_optimizer);

    /// <summary>Releases <see cref="OnDispose"/>'s state, the optimiser and the module with all its submodules.</summary>
    public void Dispose()
    {
        OnDispose();
        _optimizer.Dispose();
        Module.DisposeTree();
        GC.SuppressFinalize(this);
    }
}
