using System.Runtime.InteropServices;
using FedActors.Training.Augmentations;
using FedActors.Training.Data;
using FedActors.Training.Models;
using FedActors.Training.Randomness;
using FedActors.Training.Weights;
using TorchSharp;
using static TorchSharp.torch;

namespace FedActors.Training.Objectives;

/// <summary>How an FCL client computes the momentum features it exchanges (option <c>fcl.exchange-view</c>).</summary>
public enum FclExchangeView
{
    /// <summary>
    /// As its local keys are computed: the key encoder in training mode (batch-norm on the batch's own statistics) on
    /// augmented views, in batches of the training batch size. The default: remote features are then drawn from the
    /// same distribution as the local keys they are compared with.
    /// </summary>
    Aligned,

    /// <summary>
    /// The key encoder in evaluation mode (batch-norm on its running statistics) on the un-augmented slices: the
    /// behaviour before issue 23, kept for comparison. Its features differ in distribution from the local keys.
    /// </summary>
    EvalClean,
}

/// <summary>
/// FCL's sizes (ALGORITHMS.md §2). Every one but the partition count is ASSUMED (the paper's text
/// with the values was unavailable), hence an option with a documented default.
/// </summary>
public sealed record FclOptions
{
    /// <summary>S: slice-position partitions per volume (4 in the paper's figure).</summary>
    public int Partitions { get; init; } = 4;

    /// <summary>τ of both loss terms (ASSUMED 0.1).</summary>
    public double Temperature { get; init; } = PartitionContrastiveLoss.DefaultTemperature;

    /// <summary>Momentum of the key encoder's EMA (ASSUMED 0.99).</summary>
    public double KeyMomentum { get; init; } = 0.99;

    /// <summary>Rows of the client's own momentum-feature bank, a FIFO (ASSUMED 256).</summary>
    public int LocalBankSize { get; init; } = 256;

    /// <summary>|Q′|: negatives drawn per step from the local bank plus the remote features (ASSUMED 256).</summary>
    public int Negatives { get; init; } = 256;

    /// <summary>Momentum features of its slices a client uploads per round (ASSUMED 64).</summary>
    public int ExchangeSize { get; init; } = 64;

    /// <summary>How the exchanged features are computed (<see cref="FclExchangeView"/>; default aligned with the local keys).</summary>
    public FclExchangeView ExchangeView { get; init; } = FclExchangeView.Aligned;

    /// <summary>Throws on an option out of range.</summary>
    public void Validate()
    {
        if (Partitions < 1) throw new ArgumentOutOfRangeException(nameof(Partitions), Partitions, "at least 1");
        if (!(Temperature > 0)) throw new ArgumentOutOfRangeException(nameof(Temperature), Temperature, "must be positive");
        if (!(KeyMomentum is >= 0 and < 1)) throw new ArgumentOutOfRangeException(nameof(KeyMomentum), KeyMomentum, "in [0, 1)");
        if (LocalBankSize < 1) throw new ArgumentOutOfRangeException(nameof(LocalBankSize), LocalBankSize, "at least 1");
        if (Negatives < 1) throw new ArgumentOutOfRangeException(nameof(Negatives), Negatives, "at least 1");
        if (ExchangeSize < 1) throw new ArgumentOutOfRangeException(nameof(ExchangeSize), ExchangeSize, "at least 1");
        if (!Enum.IsDefined(ExchangeView)) throw new ArgumentOutOfRangeException(nameof(ExchangeView), ExchangeView, "not a view");
    }
}

/// <summary>
/// One FCL client's local objective (Wu et al. 2021, ALGORITHMS.md §2) on slices whose shard
/// labels are their slice-position partitions: a query encoder (federated), a key encoder (EMA of
/// the query, re-initialised from each round's global), a FIFO bank of its own key features with
/// their partitions, and the remote features of the other sites set before each round. Each step's
/// loss is <see cref="PartitionContrastiveLoss"/>: local positives are the batch's keys and the bank
/// rows of the query's partition; remote positives the remote rows of its partition; negatives Q′
/// are at most <see cref="FclOptions.Negatives"/> rows drawn from bank + remote, the query's own
/// partition excluded. The bank, optimiser state and RNG persist across rounds; remote features
/// come with every round's broadcast and replace the last ones. The features it uploads for exchange are
/// computed as <see cref="FclOptions.ExchangeView"/> says: by default exactly as its local keys (key encoder in
/// training mode, augmented views); <see cref="FclExchangeView.EvalClean"/> uses evaluation mode on un-augmented
/// slices instead, whose batch-norm statistics differ from the local keys'.
/// </summary>
public sealed class FclLearner : ModuleLearner
{
    /// <summary>The kind written in this learner's saved state.</summary>
    public const string StateKind = "fcl";
    private readonly FclOptions _fcl;
    private readonly ViewAugmenter _augmenter;
    private readonly ProjectedEncoder _key;
    private Tensor _bank;            // [LocalBankSize, D], rows [0, _bankCount) filled
    private Tensor _bankPartitions;  // [LocalBankSize] int64
    private long _bankCount;
    private long _bankPointer;
    private PartitionedFeatures _remote;

    /// <summary>An FCL learner whose query and key encoders are built by <paramref name="network"/>, seeded from <paramref name="seed"/>.</summary>
    /// <param name="network">Builds the encoder with its projection head (query and key).</param>
    /// <param name="sgd">The optimiser's settings, batch size and local epochs.</param>
    /// <param name="fcl">FCL's sizes, temperature and exchange view.</param>
    /// <param name="augmenter">Draws the views.</param>
    /// <param name="seed">Seeds the networks' initialisation and every draw of this learner.</param>
    /// <param name="device">Where the networks and banks live.</param>
    public FclLearner(Func<ProjectedEncoder> network, SimClrOptions sgd, FclOptions fcl, ViewAugmenter augmenter, ulong seed, Device device)
        : base(StateKind, TorchRuntime.Seeded(seed, network), sgd, SeededRandom.Derive(seed, "fcl"), device)
    {
        fcl.Validate();
        _fcl = fcl;
        _augmenter = augmenter;
        _key = TorchRuntime.Seeded(seed, network);
        _key.to(device);
        foreach (var p in _key.parameters()) p.requires_grad = false;
        MomentumEncoder.CopyFrom(_key, Query);
        var dim = Query.ProjectionDim;
        _bank = zeros(fcl.LocalBankSize, dim, device: device);
        _bankPartitions = zeros(fcl.LocalBankSize, dtype: ScalarType.Int64, device: device);
        _remote = Empty(dim, device);
    }

    private ProjectedEncoder Query => (ProjectedEncoder)Module;

    /// <summary>FCL's options.</summary>
    public FclOptions Fcl => _fcl;

    /// <summary>Rows of the local bank filled so far (at most <see cref="FclOptions.LocalBankSize"/>).</summary>
    public long LocalBankCount => _bankCount;

    /// <summary>Remote feature rows this round's training uses.</summary>
    public long RemoteCount => _remote.Count;

    /// <summary>Q′'s size at the last step (bounded by <see cref="FclOptions.Negatives"/>).</summary>
    public long LastNegativeCount { get; private set; }

    private static PartitionedFeatures Empty(long dim, Device device) =>
        new(zeros(0, dim, device: device).DetachFromDisposeScope(), zeros(0, dtype: ScalarType.Int64, device: device).DetachFromDisposeScope());

    /// <summary>
    /// The other sites' features for the coming training (replacing the last ones). Rows of another
    /// width or partition ids outside [0, S) are an error naming <paramref name="source"/>.
    /// </summary>
    public void SetRemoteFeatures(IReadOnlyList<(float[] Values, int[] Partitions)> sets, string source)
    {
        var dim = Query.ProjectionDim;
        var values = new List<float>();
        var partitions = new List<long>();
        foreach (var (v, p) in sets)
        {
            if (v.Length != (long)p.Length * dim) throw new InvalidDataException($"{source}: {v.Length} feature values are not {p.Length} rows of {dim}.");
            if (p.Any(x => x < 0 || x >= _fcl.Partitions)) throw new InvalidDataException($"{source}: a partition id outside [0, {_fcl.Partitions}).");
            values.AddRange(v);
            partitions.AddRange(p.Select(x => (long)x));
        }
        DisposeRemote();
        _remote = partitions.Count == 0 ? Empty(dim, Device) : new PartitionedFeatures(
            tensor(values.ToArray(), [partitions.Count, dim]).to(Device).DetachFromDisposeScope(),
            tensor(partitions.ToArray()).to(Device).DetachFromDisposeScope());
    }

    /// <summary>Takes <paramref name="global"/> as the query encoder and re-initialises the key encoder from it.</summary>
    /// <param name="global">The round's global query encoder.</param>
    public override void LoadGlobal(ModelWeights global)
    {
        base.LoadGlobal(global);
        MomentumEncoder.CopyFrom(_key, Query);
    }

    /// <summary>The local epochs of the partition-aware loss on <paramref name="shard"/> (slices labelled by partition, at least 2).</summary>
    /// <param name="shard">The hospital's slices.</param>
    public override LocalTrainingResult Train(ImageShard shard)
    {
        if (shard.Count < 2) throw new InvalidOperationException($"FCL needs at least 2 local slices, the shard has {shard.Count}.");
        CheckPartitions(shard);
        Module.train();
        _key.train();
        Tensor keys = null!, partitions = null!;
        return TrainEpochs(AllOf(shard), idx =>
        {
            var images = shard.Images(idx, Device);
            partitions = tensor(idx.Select(i => (long)shard.Labels[i]).ToArray()).to(Device);
            var q = Query.forward(_augmenter.Augment(images, Rng));
            using (no_grad())
            {
                MomentumEncoder.Follow(_key, Query, _fcl.KeyMomentum);
                keys = KeyFeatures(images, FclExchangeView.Aligned, Rng);
            }
            var bank = new PartitionedFeatures(_bank.narrow(0, 0, _bankCount), _bankPartitions.narrow(0, 0, _bankCount));
            var local = new PartitionedFeatures(cat([keys, bank.Features]), cat([partitions, bank.Partitions]));
            var negatives = DrawNegatives(bank);
            LastNegativeCount = negatives.Count;
            return PartitionContrastiveLoss.Compute(new PartitionedFeatures(q, partitions), local, _remote, negatives, _fcl.Temperature);
        }, () => Enqueue(keys, partitions));
    }

    /// <summary>
    /// The key encoder's features of <paramref name="images"/> as <paramref name="view"/> says: aligned, as the local
    /// keys are computed in training (training mode, an augmented view drawn from <paramref name="rng"/>); eval-clean,
    /// evaluation mode on the images as they are (<paramref name="rng"/> unused). Training mode updates the key
    /// encoder's batch-norm running statistics, as training does; the key is re-initialised from each round's global.
    /// </summary>
    /// <param name="images">A batch of slices (at least 2 in training mode).</param>
    /// <param name="view">Which view.</param>
    /// <param name="rng">Draws the augmentation.</param>
    public Tensor KeyFeatures(Tensor images, FclExchangeView view, SeededRandom rng)
    {
        if (view == FclExchangeView.Aligned)
        {
            _key.train();
            return _key.forward(_augmenter.Augment(images, rng));
        }
        _key.eval();
        return _key.forward(images);
    }

    /// <summary>
    /// The momentum features of up to <see cref="FclOptions.ExchangeSize"/> of the shard's slices (drawn without
    /// replacement by this learner's generator) and their partitions: what this site shares, never its images.
    /// Computed as <see cref="FclOptions.ExchangeView"/> says (<see cref="ExchangeFeatures(ImageShard, SeededRandom)"/>).
    /// </summary>
    /// <param name="shard">The hospital's slices.</param>
    public (float[] Values, int[] Partitions) ExchangeFeatures(ImageShard shard) => ExchangeFeatures(shard, Rng);

    /// <summary>
    /// <see cref="ExchangeFeatures(ImageShard)"/> with every draw from <paramref name="rng"/>: first the slices (a
    /// permutation, the first <see cref="FclOptions.ExchangeSize"/>), then, aligned, the views of each batch in order.
    /// Aligned, the slices go through <see cref="KeyFeatures"/> in batches of the training batch size (a ragged tail joins
    /// the last full batch; a single slice, which training-mode batch-norm cannot take alone, is computed eval-clean).
    /// </summary>
    /// <param name="shard">The hospital's slices.</param>
    /// <param name="rng">The generator of every draw.</param>
    public (float[] Values, int[] Partitions) ExchangeFeatures(ImageShard shard, SeededRandom rng)
    {
        CheckPartitions(shard);
        var chosen = rng.Permutation(shard.Count).Take(Math.Min(_fcl.ExchangeSize, shard.Count)).ToArray();
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        var view = chosen.Length < 2 ? FclExchangeView.EvalClean : _fcl.ExchangeView;
        var batch = view == FclExchangeView.Aligned ? Math.Max(2, Options.BatchSize) : chosen.Length;
        var parts = new List<Tensor>();
        for (var start = 0; start < chosen.Length;)
        {
            var size = chosen.Length - start < 2 * batch ? chosen.Length - start : batch;
            parts.Add(KeyFeatures(shard.Images(new ArraySegment<int>(chosen, start, size), Device), view, rng));
            start += size;
        }
        var features = cat(parts).cpu().contiguous();
        return (features.data<float>().ToArray(), chosen.Select(i => shard.Labels[i]).ToArray());
    }

    private void CheckPartitions(ImageShard shard)
    {
        for (var i = 0; i < shard.Count; i++)
            if (shard.Labels[i] < 0 || shard.Labels[i] >= _fcl.Partitions)
                throw new InvalidOperationException($"Slice {i} carries partition {shard.Labels[i]}, outside the {_fcl.Partitions} partitions FCL was set up with.");
    }

    private PartitionedFeatures DrawNegatives(PartitionedFeatures bank)
    {
        var pool = bank.Count + _remote.Count;
        var features = cat([bank.Features, _remote.Features]);
        var partitions = cat([bank.Partitions, _remote.Partitions]);
        if (pool <= _fcl.Negatives) return new PartitionedFeatures(features, partitions);
        var rows = tensor(Rng.Permutation((int)pool).Take(_fcl.Negatives).Select(i => (long)i).ToArray()).to(Device);
        return new PartitionedFeatures(features.index_select(0, rows), partitions.index_select(0, rows));
    }

    private void Enqueue(Tensor keys, Tensor partitions)
    {
        using var scope = NewDisposeScope();
        var size = _bank.shape[0];
        var n = Math.Min(keys.shape[0], size);
        var rows = tensor(Enumerable.Range(0, (int)n).Select(i => (_bankPointer + i) % size).ToArray()).to(Device);
        using (no_grad())
        {
            _bank.index_copy_(0, rows, keys.detach().narrow(0, 0, n));
            _bankPartitions.index_copy_(0, rows, partitions.narrow(0, 0, n));
        }
        _bankPointer = (_bankPointer + n) % size;
        _bankCount = Math.Min(size, _bankCount + n);
    }



    /// <inheritdoc />
    protected override void SaveExtra(BinaryWriter w)
    {
        using var scope = NewDisposeScope();
        var bank = _bank.cpu().contiguous().data<float>().ToArray();
        var partitions = _bankPartitions.cpu().contiguous().data<long>().ToArray();
        w.Write(_bank.shape[0]);
        w.Write(_bank.shape[1]);
        w.Write(MemoryMarshal.AsBytes(bank.AsSpan()));
        w.Write(MemoryMarshal.AsBytes(partitions.AsSpan()));
        w.Write(_bankCount);
        w.Write(_bankPointer);
        // The key encoder too: Local CL loads the global only once, so its key follows the query across rounds.
        w.Flush();
        ModelWeights.FromModule(_key).WriteTo(w.BaseStream);
    }

    /// <inheritdoc />
    protected override Action ReadExtra(LearnerStateReader r)
    {
        long rows = r.At("bank shape").ReadInt64(), dim = r.At("bank shape").ReadInt64();
        if (rows != _bank.shape[0] || dim != _bank.shape[1])
            throw r.Error($"bank is [{rows},{dim}], this learner's is [{string.Join(',', _bank.shape)}]");
        var bank = new float[rows * dim];
        var partitions = new long[rows];
        if (r.At("bank values").Read(MemoryMarshal.AsBytes(bank.AsSpan())) != bank.Length * sizeof(float)) throw new EndOfStreamException();
        if (r.At("bank partitions").Read(MemoryMarshal.AsBytes(partitions.AsSpan())) != partitions.Length * sizeof(long)) throw new EndOfStreamException();
        var count = r.At("bank count").ReadInt64();
        var pointer = r.At("bank pointer").ReadInt64();
        if (count < 0 || count > rows || pointer < 0 || pointer >= rows) throw r.Error($"count {count} and pointer {pointer} do not fit a bank of {rows}");
        if (partitions.Any(p => p < 0 || p >= _fcl.Partitions)) throw r.Error($"a partition id outside [0, {_fcl.Partitions})");
        var key = LearnerStateFormat.ReadWeights(r, "key weights");
        return () =>
        {
            LearnerStateFormat.Restore(r.Source, "key weights", () => key.LoadInto(_key));
            using var scope = NewDisposeScope();
            using (no_grad())
            {
                _bank.copy_(tensor(bank, [rows, dim]).to(Device));
                _bankPartitions.copy_(tensor(partitions).to(Device));
            }
            _bankCount = count;
            _bankPointer = pointer;
        };
    }

    /// <inheritdoc />
    protected override void OnMoved(Device device)
    {
        _key.to(device);
        foreach (var p in _key.parameters()) p.requires_grad = false;
        _bank = Moved(_bank, device);
        _bankPartitions = Moved(_bankPartitions, device);
        _remote = new PartitionedFeatures(Moved(_remote.Features, device), Moved(_remote.Partitions, device));
    }

    private static Tensor Moved(Tensor t, Device device)
    {
        var moved = t.to(device).DetachFromDisposeScope();
        if (!ReferenceEquals(moved, t)) t.Dispose();
        return moved;
    }

    private void DisposeRemote()
    {
        _remote.Features.Dispose();
        _remote.Partitions.Dispose();
    }

    /// <inheritdoc />
    protected override void OnDispose()
    {
        DisposeRemote();
        _bank.Dispose();
        _bankPartitions.Dispose();
        _key.DisposeTree();
    }
}
