using System.Security.Cryptography;
using FedActors.Training.Augmentations;
using FedActors.Training.Data;
using FedActors.Training.Models;
using FedActors.Training.Randomness;
using FedActors.Training.Weights;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace FedActors.Training.Objectives;

/// <summary>SimCLR hyper-parameters (ALGORITHMS.md §0): NT-Xent at τ = 0.5, SGD with momentum.</summary>
public sealed record SimClrOptions
{
    public double Temperature { get; init; } = NtXentLoss.DefaultTemperature;
    public double LearningRate { get; init; } = 0.06;
    public double SgdMomentum { get; init; } = 0.9;
    public double WeightDecay { get; init; } = 1e-4;
    public int BatchSize { get; init; } = 64;
    public int LocalEpochs { get; init; } = 1;
}

/// <summary>
/// One client's SimCLR: one network (backbone + projection head, the federated part), two
/// augmented views per image, NT-Xent over the 2N views of a batch (the other images of the batch
/// are the negatives: no queue, no key encoder). Optimiser state and RNG persist across rounds.
/// </summary>
public sealed class SimClrLearner : ILocalLearner
{
    public const string StateKind = "simclr";
    private readonly SimClrOptions _options;
    private readonly ViewAugmenter _augmenter;
    private readonly ProjectedEncoder _network;
    private Device _device;
    private SGD _optimizer;
    private SeededRandom _rng;
    private long _steps;

    public SimClrLearner(Func<ProjectedEncoder> network, SimClrOptions options, ViewAugmenter augmenter, ulong seed, Device device)
    {
        _options = options;
        _augmenter = augmenter;
        _device = device;
        _rng = SeededRandom.Derive(seed, "simclr");
        _network = TorchRuntime.Seeded(seed, network);
        _network.to(device);
        _optimizer = NewOptimizer(_network.parameters());
    }

    public ProjectedEncoder Network => _network;

    public void LoadGlobal(ModelWeights global) => global.LoadInto(_network);

    public ModelWeights ExportWeights() => ModelWeights.FromModule(_network);

    public LocalTrainingResult Train(ImageShard shard)
    {
        if (shard.Count < 2) throw new InvalidOperationException($"SimCLR needs at least 2 local images, the shard has {shard.Count}.");
        _network.train();
        var batch = Math.Min(_options.BatchSize, shard.Count);
        double lossSum = 0;
        var steps = 0;
        for (var epoch = 0; epoch < _options.LocalEpochs; epoch++)
        {
            var order = _rng.Permutation(shard.Count);
            for (var start = 0; start + batch <= shard.Count; start += batch)
            {
                using var scope = NewDisposeScope();
                var images = shard.Images(new ArraySegment<int>(order, start, batch), _device);
                var first = _network.forward(_augmenter.Augment(images, _rng));
                var second = _network.forward(_augmenter.Augment(images, _rng));
                var loss = NtXentLoss.Compute(first, second, _options.Temperature);
                _optimizer.zero_grad();
                loss.backward();
                _optimizer.step();
                lossSum += loss.item<float>();
                steps++;
                _steps++;
            }
        }
        return new LocalTrainingResult(steps == 0 ? double.NaN : lossSum / steps, steps, shard.Count);
    }

    public LocalStateSummary DescribeState() =>
        new(_steps, 0, "", Convert.ToHexString(SHA256.HashData(OptimizerState())), _rng.State);

    public void SaveState(Stream stream) =>
        LearnerStateFormat.Write(stream, StateKind, w =>
        {
            w.Flush();
            ModelWeights.FromModule(_network).WriteTo(w.BaseStream);
            w.Write(_steps);
            foreach (var word in _rng.State) w.Write(word);
            var optimizer = OptimizerState();
            w.Write(optimizer.Length);
            w.Write(optimizer);
        });

    public void LoadState(Stream stream, string source)
    {
        ModelWeights weights = null!;
        long steps = 0;
        ulong[] rng = null!;
        byte[] optimizer = null!;
        LearnerStateFormat.Read(stream, source, StateKind, r =>
        {
            weights = LearnerStateFormat.ReadWeights(r, "weights");
            steps = r.At("step count").ReadInt64();
            if (steps < 0) throw r.Error($"negative step count {steps}");
            rng = [.. Enumerable.Range(0, 4).Select(_ => r.At("rng state").ReadUInt64())];
            optimizer = r.At("optimizer state").ReadBytes(r.Length("optimizer state", 1));
        });
        LearnerStateFormat.Restore(source, "weights", () => weights.LoadInto(_network));
        LearnerStateFormat.Restore(source, "optimizer state", () =>
        {
            using var reader = new BinaryReader(new MemoryStream(optimizer, writable: false));
            _optimizer.load_state_dict(reader);
            _optimizer.to(_device);
        });
        _steps = steps;
        _rng = SeededRandom.FromState(rng);
    }

    public void MoveTo(Device device)
    {
        if (MoCoV2Learner.SameDevice(device, _device)) return;
        _network.to(device);
        _optimizer = SgdOptimizer.Rehome(_network, _optimizer, device, NewOptimizer);
        _device = device;
    }

    private SGD NewOptimizer(IEnumerable<Parameter> parameters) =>
        optim.SGD(parameters, _options.LearningRate, _options.SgdMomentum, weight_decay: _options.WeightDecay);

    private byte[] OptimizerState()
    {
        using var buffer = new MemoryStream();
        using (var writer = new BinaryWriter(buffer, System.Text.Encoding.UTF8, leaveOpen: true))
            _optimizer.save_state_dict(writer);
        return buffer.ToArray();
    }

    public void Dispose()
    {
        _optimizer.Dispose();
        _network.Dispose();
    }
}
