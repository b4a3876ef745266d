using FedActors.Training.Augmentations;
using FedActors.Training.Data;
using FedActors.Training.Models;
using FedActors.Training.Randomness;
using FedActors.Training.Weights;
using TorchSharp;
using static TorchSharp.torch;

namespace FedActors.Training.Objectives;

/// <summary>
/// FCLOpt's local objective (ALGORITHMS.md §3, ASSUMED form): BYOL without negatives whose positive
/// pairs are two different slices of the same partition, <c>2 − 2·cos(q_θ(z_θ(x)), z_ξ(x′))</c>
/// symmetrised, partition(x) = partition(x′), x′ drawn from the client's own slices. The online
/// network (encoder + predictor) is federated; the target ξ is an EMA of the online encoder per step
/// (momentum <c>targetMomentum</c>) and is set from outside before each round (downloaded or
/// predicted, see the FCLOpt client). The target and the last target this client uploaded persist
/// in its state.
/// </summary>
public sealed class FclOptLearner : ModuleLearner
{
    public const string StateKind = "fclopt";
    private readonly ViewAugmenter _augmenter;
    private readonly double _momentum;
    private readonly int _partitions;
    private readonly ProjectedEncoder _target;

    public FclOptLearner(Func<ProjectedEncoder> network, SimClrOptions sgd, double targetMomentum, int partitions, ViewAugmenter augmenter, ulong seed, Device device)
        : base(StateKind, TorchRuntime.Seeded(seed, () => new ByolModel(network())), sgd, SeededRandom.Derive(seed, "fclopt"), device)
    {
        if (partitions < 1) throw new ArgumentOutOfRangeException(nameof(partitions), partitions, "at least 1");
        _augmenter = augmenter;
        _momentum = targetMomentum;
        _partitions = partitions;
        _target = TorchRuntime.Seeded(seed, network);
        _target.to(device);
        foreach (var p in _target.parameters()) p.requires_grad = false;
        SetTarget(ModelWeights.FromModule(Online.Network));
    }

    private ByolModel Online => (ByolModel)Module;

    /// <summary>Whether the target has been trained or set from a round's global (false: still the initial copy).</summary>
    public bool HasOwnTarget { get; private set; }

    /// <summary>The target this client last uploaded (for distance prediction), or null.</summary>
    public ModelWeights? LastUploadedTarget { get; set; }

    public ModelWeights TargetWeights() => ModelWeights.FromModule(_target);

    public void SetTarget(ModelWeights target) => target.LoadInto(_target);

    public override LocalTrainingResult Train(ImageShard shard)
    {
        if (shard.Count < 2) throw new InvalidOperationException($"FCLOpt needs at least 2 local slices, the shard has {shard.Count}.");
        var byPartition = new List<int>[_partitions];
        for (var p = 0; p < _partitions; p++) byPartition[p] = [];
        for (var i = 0; i < shard.Count; i++)
        {
            var p = shard.Labels[i];
            if (p < 0 || p >= _partitions) throw new InvalidOperationException($"Slice {i} carries partition {p}, outside the {_partitions} partitions FCLOpt was set up with.");
            byPartition[p].Add(i);
        }
        Module.train();
        _target.train();
        var result = TrainEpochs(AllOf(shard), idx =>
        {
            var partners = idx.Select(i => Partner(i, byPartition[shard.Labels[i]])).ToArray();
            var first = _augmenter.Augment(shard.Images(idx, Device), Rng);
            var second = _augmenter.Augment(shard.Images(partners, Device), Rng);
            return ByolLearner.SymmetricLoss(Module, _target, first, second);
        }, () => MomentumEncoder.Follow(_target, Online.Network, _momentum));
        HasOwnTarget = true;
        return result;
    }

    /// <summary>Another slice of the same partition, drawn uniformly; the slice itself only when it is alone there.</summary>
    private int Partner(int slice, List<int> samePartition)
    {
        if (samePartition.Count == 1) return slice;
        var j = samePartition[Rng.NextInt(samePartition.Count - 1)];
        return j == slice ? samePartition[^1] : j;
    }

    /// <summary>Marks the target as this round's (set from a global or a prediction), so the next round predicts from it.</summary>
    public void AdoptTarget(ModelWeights target)
    {
        SetTarget(target);
        HasOwnTarget = true;
    }


    protected override void SaveExtra(BinaryWriter w)
    {
        w.Write(HasOwnTarget);
        w.Flush();
        TargetWeights().WriteTo(w.BaseStream);
        w.Write(LastUploadedTarget is not null);
        w.Flush();
        LastUploadedTarget?.WriteTo(w.BaseStream);
    }

    protected override Action ReadExtra(LearnerStateReader r)
    {
        var hasOwn = r.At("has own target").ReadBoolean();
        var target = LearnerStateFormat.ReadWeights(r, "target weights");
        var last = r.At("has uploaded target").ReadBoolean() ? LearnerStateFormat.ReadWeights(r, "last uploaded target") : null;
        return () =>
        {
            LearnerStateFormat.Restore(r.Source, "target weights", () => SetTarget(target));
            HasOwnTarget = hasOwn;
            LastUploadedTarget = last;
        };
    }

    protected override void OnMoved(Device device)
    {
        _target.to(device);
        foreach (var p in _target.parameters()) p.requires_grad = false;
    }

    protected override void OnDispose() => _target.DisposeTree();
}
