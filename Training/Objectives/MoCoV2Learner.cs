using System.Security.Cryptography;
using System.Runtime.InteropServices;
using FedActors.Training.Augmentations;
using FedActors.Training.Data;
using FedActors.Training.Models;
using FedActors.Training.Randomness;
using FedActors.Training.Weights;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace FedActors.Training.Objectives;

/// <summary>MoCo v2 hyper-parameters (ALGORITHMS.md §0, small-scale defaults).</summary>
public sealed record MoCoV2Options
{
    /// <summary>Negative keys K in each client's FIFO queue (rows, each of the projection width). Default 4096; key <c>fedactors.moco.queue-size</c>.</summary>
    public int QueueSize { get; init; } = 4096;
    /// <summary>InfoNCE's τ, positive. Default 0.2; key <c>fedactors.moco.temperature</c>.</summary>
    public double Temperature { get; init; } = 0.2;
    /// <summary>
    /// m of the key encoder's per-step EMA of the query network, in [0, 1] (0: the key is the query).
    /// Default 0.99; key <c>fedactors.moco.key-momentum</c>, which BYOL's target also follows.
    /// </summary>
    public double KeyMomentum { get; init; } = 0.99;
    /// <summary>SGD learning rate. Default 0.06; key <c>fedactors.moco.learning-rate</c>.</summary>
    public double LearningRate { get; init; } = 0.06;
    /// <summary>SGD momentum. Default 0.9; key <c>fedactors.moco.sgd-momentum</c>.</summary>
    public double SgdMomentum { get; init; } = 0.9;
    /// <summary>SGD's L2 weight decay. Default 1e-4; key <c>fedactors.moco.weight-decay</c>.</summary>
    public double WeightDecay { get; init; } = 1e-4;
    /// <summary>Images per step (capped at the shard's size); a ragged last batch is dropped. Default 64; key <c>fedactors.moco.batch-size</c>.</summary>
    public int BatchSize { get; init; } = 64;
    /// <summary>Passes over the local shard per round. Default 1; key <c>fedactors.moco.local-epochs</c>.</summary>
    public int LocalEpochs { get; init; } = 1;
    /// <summary>
    /// The projection head's hidden-layer norm. <see cref="HeadNorm.None"/> is MoCo v2's Linear–ReLU–Linear;
    /// <see cref="HeadNorm.BatchNorm"/> (the default) adds batch-norm before the ReLU, as MoCo v3's and SimCLR's heads do:
    /// on PneumoniaMNIST with the small CNN, MoCo v2's head drove the InfoNCE loss up to ln(K + 1), the value of
    /// identical embeddings, at learning rates 0.06, 0.015 and 0.0075, while the batch-normed head's fell (docs/results/moco-head.md).
    /// Key <c>fedactors.moco.head-norm</c> (<c>batch-norm</c> | <c>none</c>).
    /// </summary>
    public HeadNorm HeadNorm { get; init; } = HeadNorm.BatchNorm;
}

/// <summary>
/// One client's MoCo v2: query network (federated), key network (EMA of the query,
/// re-initialised from each round's global weights), a FIFO queue of negative keys,
/// SGD with momentum, and the client's RNG. Queue, optimiser state and RNG persist
/// across rounds: the client is stateful.
/// </summary>
public sealed class MoCoV2Learner : ILocalLearner
{
    private readonly MoCoV2Options _options;
    private readonly ViewAugmenter _augmenter;
    private readonly ProjectedEncoder _query;
    private readonly ProjectedEncoder _key;
    private Device _device;
    private SGD _optimizer;
    private Tensor _queue;
    private SeededRandom _rng;
    private long _queuePointer;
    private long _steps;

    /// <summary>Names this learner's state, so another method's state is refused rather than misread.</summary>
    public const string StateKind = "moco-v2";

    /// <summary>
    /// Creates a client: query and key networks built by <paramref name="network"/> seeded from <paramref name="seed"/>
    /// (the key a frozen copy of the query), SGD on the query, and a queue of random unit-norm keys.
    /// </summary>
    /// <param name="network">Builds the encoder with its projection head; called twice (query and key), both owned by the learner.</param>
    /// <param name="options">Queue, temperature, momentum, SGD and batch settings.</param>
    /// <param name="augmenter">Draws the two views of each image.</param>
    /// <param name="seed">The hospital's seed: initialisation, the initial queue and the learner's RNG derive from it.</param>
    /// <param name="device">Device the networks and the queue start on.</param>
    public MoCoV2Learner(Func<ProjectedEncoder> network, MoCoV2Options options, ViewAugmenter augmenter, ulong seed, Device device)
    {
        _options = options;
        _augmenter = augmenter;
        _device = device;
        _rng = SeededRandom.Derive(seed, "moco");
        (_query, _key) = TorchRuntime.Seeded(seed, () => (network(), network()));
        _query.to(device);
        _key.to(device);
        foreach (var p in _key.parameters()) p.requires_grad = false;
        MomentumEncoder.CopyFrom(_key, _query);
        _optimizer = NewOptimizer(_query.parameters());
        using var generator = new Generator(Rng.NextUInt64() >> 1, device);
        _queue = nn.functional.normalize(TorchDraws.Randn(generator, [options.QueueSize, _query.ProjectionDim], device: device), p: 2, dim: 1);
    }

    /// <summary>The client's RNG; replaced (not mutated) by <see cref="LoadState"/>.</summary>
    public SeededRandom Rng => _rng;

    /// <summary>
    /// The query network, the federated one (what <see cref="ExportWeights"/> exports); owned by the learner and
    /// disposed with it. Callers reading it (FedMoCo's site features) must not dispose it.
    /// </summary>
    public ProjectedEncoder Query => _query;

    /// <summary>
    /// FedMoCo's metadata transfer: when set, each view is first re-standardised to a site it draws
    /// (ALGORITHMS.md §1.1). Null (plain MoCo v2) draws nothing, so the random stream is unchanged.
    /// </summary>
    public CrossSiteRestandardisation? Restandardisation { get; set; }

    /// <summary>
    /// FedProx's μ (ALGORITHMS.md §5): when positive, each step's loss gains μ/2·‖θ − θ_g‖² over the
    /// query network's parameters, θ_g the round's global; 0 (plain MoCo v2) adds nothing.
    /// </summary>
    public double ProximalMu { get; set; }

    private ProximalAnchor? _anchor; // the round's global parameters, for the proximal term

    /// <summary>
    /// Takes <paramref name="global"/> as the query network and re-initialises the key network from it; queue,
    /// optimiser state and RNG are kept. With <see cref="ProximalMu"/> positive, also captures it as the proximal anchor.
    /// </summary>
    /// <param name="global">The round's global weights; names and shapes must fit the query network.</param>
    public void LoadGlobal(ModelWeights global)
    {
        global.LoadInto(_query);
        MomentumEncoder.CopyFrom(_key, _query);
        DisposeAnchor();
        if (ProximalMu > 0) _anchor = ProximalAnchor.Capture(_query.parameters());
    }

    private Tensor Proximal(Tensor loss) =>
        _anchor is null || ProximalMu <= 0 ? loss : _anchor.AddTo(loss, _query.parameters(), ProximalMu);

    private void DisposeAnchor()
    {
        _anchor?.Dispose();
        _anchor = null;
    }

    /// <summary>A copy of the query network's weights (the key network is not federated).</summary>
    public ModelWeights ExportWeights() => ModelWeights.FromModule(_query);

    /// <summary>
    /// The local epochs of MoCo v2 on <paramref name="shard"/>: per batch, two views (re-standardised first when
    /// <see cref="Restandardisation"/> is set), the key network following the query by EMA, InfoNCE against the
    /// queue (plus the proximal term), then the batch's keys enqueued. The ragged last batch is dropped.
    /// </summary>
    /// <param name="shard">The hospital's training images (at least 2, else <see cref="InvalidOperationException"/>).</param>
    public LocalTrainingResult Train(ImageShard shard)
    {
        if (shard.Count < 2) throw new InvalidOperationException($"MoCo needs at least 2 local images, the shard has {shard.Count}.");
        _query.train();
        _key.train();
        var batch = Math.Min(_options.BatchSize, shard.Count);
        double lossSum = 0;
        var lossCount = 0;
        var steps = 0;
        for (var epoch = 0; epoch < _options.LocalEpochs; epoch++)
        {
            var order = Rng.Permutation(shard.Count);
            // Drop the ragged tail: a tiny last batch gives a noisy, badly scaled step.
            for (var start = 0; start + batch <= shard.Count; start += batch)
            {
                using var scope = NewDisposeScope();
                var images = shard.Images(new ArraySegment<int>(order, start, batch), _device);
                var queryView = _augmenter.Augment(Restandardised(images), Rng);
                var keyView = _augmenter.Augment(Restandardised(images), Rng);
                var q = _query.forward(queryView);
                Tensor k;
                using (no_grad())
                {
                    MomentumEncoder.Follow(_key, _query, _options.KeyMomentum);
                    k = _key.forward(keyView);
                }
                var loss = Proximal(ContrastiveLosses.InfoNce(q, k, _queue, _options.Temperature));
                _optimizer.zero_grad();
                loss.backward();
                _optimizer.step();
                Enqueue(k);
                lossSum += loss.item<float>() * batch;
                lossCount += batch;
                steps++;
                _steps++;
            }
        }
        return new LocalTrainingResult(lossSum / lossCount, steps, shard.Count);
    }

    private Tensor Restandardised(Tensor images) => Restandardisation is null ? images : Restandardisation.Apply(images, Rng);

    /// <summary>Step count, queue pointer, SHA-256 of the queue and of the optimiser state, and the RNG state.</summary>
    public LocalStateSummary DescribeState()
    {
        using var scope = NewDisposeScope();
        var queue = _queue.cpu().contiguous().data<float>().ToArray();
        return new LocalStateSummary(
            _steps, _queuePointer,
            Convert.ToHexString(SHA256.HashData(MemoryMarshal.AsBytes(queue.AsSpan()))),
            Convert.ToHexString(SHA256.HashData(OptimizerState())),
            Rng.State);
    }

    /// <summary>
    /// Writes kind <see cref="StateKind"/>: query and key weights, the queue and its pointer, the step count,
    /// the RNG state and the optimiser state.
    /// </summary>
    /// <param name="stream">Where to write; left open.</param>
    public void SaveState(Stream stream)
    {
        using var scope = NewDisposeScope();
        var queue = _queue.cpu().contiguous().data<float>().ToArray();
        LearnerStateFormat.Write(stream, StateKind, w =>
        {
            w.Flush();
            ModelWeights.FromModule(_query).WriteTo(w.BaseStream);
            ModelWeights.FromModule(_key).WriteTo(w.BaseStream);
            w.Write(_queue.shape[0]);
            w.Write(_queue.shape[1]);
            w.Write(MemoryMarshal.AsBytes(queue.AsSpan()));
            w.Write(_queuePointer);
            w.Write(_steps);
            foreach (var word in _rng.State) w.Write(word);
            var optimizer = OptimizerState();
            w.Write(optimizer.Length);
            w.Write(optimizer);
        });
    }

    /// <summary>
    /// Restores <see cref="SaveState"/>'s bytes, all parsed and checked (kind, hash, queue shape) before the learner
    /// is touched; <see cref="InvalidDataException"/> naming <paramref name="source"/> otherwise. A weight name or
    /// shape mismatch is found while loading: after a failed load, discard the learner.
    /// </summary>
    /// <param name="stream">Bytes written by <see cref="SaveState"/> of a learner built the same way.</param>
    /// <param name="source">Where the bytes came from, for error messages.</param>
    public void LoadState(Stream stream, string source)
    {
        // Verify and parse all the bytes (hash, version, queue shape) before touching the learner;
        // weight names and shapes are checked as they load, hence "discard after a failed load".
        ModelWeights query = null!, key = null!;
        float[] queue = null!;
        long pointer = 0, steps = 0;
        ulong[] rng = null!;
        byte[] optimizer = null!;
        LearnerStateFormat.Read(stream, source, StateKind, r =>
        {
            query = LearnerStateFormat.ReadWeights(r, "query weights");
            key = LearnerStateFormat.ReadWeights(r, "key weights");
            long rows = r.At("queue shape").ReadInt64(), dim = r.At("queue shape").ReadInt64();
            if (rows != _queue.shape[0] || dim != _queue.shape[1])
                throw r.Error($"queue is [{rows},{dim}], this learner's is [{string.Join(',', _queue.shape)}]");
            queue = new float[rows * dim];
            var bytes = MemoryMarshal.AsBytes(queue.AsSpan());
            if (r.At("queue values").Read(bytes) != bytes.Length) throw new EndOfStreamException();
            pointer = r.At("queue pointer").ReadInt64();
            if (pointer < 0 || pointer >= rows) throw r.Error($"pointer {pointer} outside a queue of {rows}");
            steps = r.At("step count").ReadInt64();
            if (steps < 0) throw r.Error($"negative step count {steps}");
            rng = [.. Enumerable.Range(0, 4).Select(_ => r.At("rng state").ReadUInt64())];
            optimizer = r.At("optimizer state").ReadBytes(r.Length("optimizer state", 1));
        });

        LearnerStateFormat.Restore(source, "query weights", () => query.LoadInto(_query));
        LearnerStateFormat.Restore(source, "key weights", () => key.LoadInto(_key));
        Optimizers.Restore(source, _optimizer, optimizer, _device);
        using (NewDisposeScope())
        using (no_grad())
            _queue.copy_(tensor(queue, _queue.shape).to(_device));
        _queuePointer = pointer;
        _steps = steps;
        _rng = SeededRandom.FromState(rng);
    }

    private byte[] OptimizerState() => Optimizers.Save(_optimizer);

    /// <inheritdoc/>
    public void MoveTo(Device device) => MoveTo(device, force: false);

    /// <summary>Moves networks, optimiser state, queue and proximal anchor to <paramref name="device"/>.</summary>
    /// <param name="device">The target device.</param>
    /// <param name="force">Re-home even when already on <paramref name="device"/>: lets CPU-only specs run the path a GPU move takes.</param>
    internal void MoveTo(Device device, bool force)
    {
        if (!force && SameDevice(device, _device)) return;
        _query.to(device);
        _key.to(device);
        foreach (var p in _key.parameters()) p.requires_grad = false;
        _optimizer = Optimizers.Rehome(_query, _optimizer, device, NewOptimizer);
        var queue = _queue.to(device).DetachFromDisposeScope();
        _queue.Dispose();
        _queue = queue;
        _anchor?.MoveTo(device);
        _device = device;
    }

    // Bare "cuda" is libtorch's current device, cuda:0 unless someone changed it.
    internal static bool SameDevice(Device a, Device b) =>
        a.type == b.type && (a.type != DeviceType.CUDA || Math.Max(0, a.index) == Math.Max(0, b.index));

    private SGD NewOptimizer(IEnumerable<Parameter> parameters) =>
        Optimizers.Sgd(parameters, _options.LearningRate, _options.SgdMomentum, _options.WeightDecay);



    private void Enqueue(Tensor keys)
    {
        using var scope = NewDisposeScope();
        var n = keys.shape[0];
        var size = _queue.shape[0];
        var rows = Enumerable.Range(0, (int)n).Select(i => (_queuePointer + i) % size).ToArray();
        using (no_grad()) _queue.index_copy_(0, tensor(rows, device: _device), keys.detach());
        _queuePointer = (_queuePointer + n) % size;
    }

    /// <summary>Releases the proximal anchor, the optimiser, the queue and both networks (<see cref="Query"/> included).</summary>
    public void Dispose()
    {
        DisposeAnchor();
        _optimizer.Dispose();
        _queue.Dispose();
        _query.DisposeTree();
        _key.DisposeTree();
    }
}
