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
/// predicted, see the FCLOpt client). Its state keeps, across rounds, the target network, PTNU's
/// prediction ξ̂ (<see cref="PredictedTarget"/>) and the target this client last uploaded
/// (<see cref="LastUploadedTarget"/>, DP's reference).
/// </summary>
public sealed class FclOptLearner : ModuleLearner
{
    /// <summary>The kind written in this learner's saved state.</summary>
    public const string StateKind = "fclopt";
    private readonly ViewAugmenter _augmenter;
    private readonly double _momentum;
    private readonly int _partitions;
    private readonly ProjectedEncoder _target;

    /// <summary>An FCLOpt learner whose online and target networks are built by <paramref name="network"/>, seeded from <paramref name="seed"/>.</summary>
    /// <param name="network">Builds the encoder with its projection head (the online one and the target).</param>
    /// <param name="sgd">The optimiser's settings, batch size and local epochs.</param>
    /// <param name="targetMomentum">m of the target's per-step EMA of the online encoder.</param>
    /// <param name="partitions">S, the slice-position partitions the shard's labels name.</param>
    /// <param name="augmenter">Draws each slice's view.</param>
    /// <param name="seed">Seeds the networks' initialisation and every draw of this learner.</param>
    /// <param name="device">Where the networks live.</param>
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

    /// <summary>
    /// PTNU's prediction ξ̂ of the target, kept across rounds: null until the first global arrives, then that
    /// global's encoder, then m·ξ̂ + (1 − m)·θ_g with each global (the FCLOpt client applies the rule). Training
    /// never changes it: it starts the round's target network, which training then moves.
    /// </summary>
    public ModelWeights? PredictedTarget { get; set; }

    /// <summary>The target this client last uploaded (DP's reference), or null.</summary>
    public ModelWeights? LastUploadedTarget { get; set; }

    /// <summary>The target network's weights now.</summary>
    public ModelWeights TargetWeights() => ModelWeights.FromModule(_target);

    /// <summary>Sets the target network to <paramref name="target"/> (an encoder's weights).</summary>
    /// <param name="target">Weights of the encoder with its projection head.</param>
    public void SetTarget(ModelWeights target) => target.LoadInto(_target);

    /// <summary>The local epochs on <paramref name="shard"/> (slices labelled by partition, at least 2); the target follows the online encoder by EMA after each step.</summary>
    /// <param name="shard">The hospital's slices, each labelled with its partition.</param>
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
        return TrainEpochs(AllOf(shard), idx =>
        {
            var partners = idx.Select(i => Partner(i, byPartition[shard.Labels[i]])).ToArray();
            var first = _augmenter.Augment(shard.Images(idx, Device), Rng);
            var second = _augmenter.Augment(shard.Images(partners, Device), Rng);
            return ByolLearner.SymmetricLoss(Module, _target, first, second);
        }, () => MomentumEncoder.Follow(_target, Online.Network, _momentum));
    }

    /// <summary>Another slice of the same partition, drawn uniformly; the slice itself only when it is alone there.</summary>
    private int Partner(int slice, List<int> samePartition)
    {
        if (samePartition.Count == 1) return slice;
        var j = samePartition[Rng.NextInt(samePartition.Count - 1)];
        return j == slice ? samePartition[^1] : j;
    }

    /// <inheritdoc />
    protected override void SaveExtra(BinaryWriter w)
    {
        w.Flush();
        TargetWeights().WriteTo(w.BaseStream);
        foreach (var weights in new[] { PredictedTarget, LastUploadedTarget })
        {
            w.Write(weights is not null);
            w.Flush();
            weights?.WriteTo(w.BaseStream);
        }
    }

    /// <inheritdoc />
    protected override Action ReadExtra(LearnerStateReader r)
    {
        var target = LearnerStateFormat.ReadWeights(r, "target weights");
        var predicted = r.At("has predicted target").ReadBoolean() ? LearnerStateFormat.ReadWeights(r, "predicted target") : null;
        var last = r.At("has uploaded target").ReadBoolean() ? LearnerStateFormat.ReadWeights(r, "last uploaded target") : null;
        return () =>
        {
            LearnerStateFormat.Restore(r.Source, "target weights", () => SetTarget(target));
            PredictedTarget = predicted;
            LastUploadedTarget = last;
        };
    }

    /// <inheritdoc />
    protected override void OnMoved(Device device)
    {
        _target.to(device);
        foreach (var p in _target.parameters()) p.requires_grad = false;
    }

    /// <inheritdoc />
    protected override void OnDispose() => _target.DisposeTree();
}
