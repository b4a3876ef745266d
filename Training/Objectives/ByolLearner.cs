using FedActors.Training.Augmentations;
using FedActors.Training.Data;
using FedActors.Training.Models;
using FedActors.Training.Randomness;
using FedActors.Training.Weights;
using TorchSharp;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace FedActors.Training.Objectives;

/// <summary>BYOL's online side: the encoder with its projection head, and the predictor q_θ on the projection.</summary>
public sealed class ByolModel : Module<Tensor, Tensor>
{
    /// <summary>The encoder's field, the same as the supervised model's: evaluation finds it under <c>network.*</c>.</summary>
    public const string Encoder = SupervisedModel.Encoder;
    public const string Predictor = "predictor";

    private readonly ProjectedEncoder network;
    private readonly ProjectionHead predictor;

    public ByolModel(ProjectedEncoder encoder) : base("byol")
    {
        network = encoder;
        predictor = new ProjectionHead(encoder.ProjectionDim, encoder.FeatureDim, encoder.ProjectionDim);
        RegisterComponents();
    }

    public ProjectedEncoder Network => network;

    public override Tensor forward(Tensor images) => predictor.forward(network.forward(images));
}

/// <summary>
/// One client's BYOL (ALGORITHMS.md §0): the online network predicts the target network's
/// projection of the other view, loss 2 − 2·cos, symmetrised; the target is an EMA of the online
/// encoder (momentum <c>moco.key-momentum</c>), re-initialised from each round's global. The online
/// encoder and the predictor are federated.
/// </summary>
public sealed class ByolLearner : ModuleLearner
{
    public const string StateKind = "byol";
    private readonly ViewAugmenter _augmenter;
    private readonly double _momentum;
    private readonly ProjectedEncoder _target;

    public ByolLearner(Func<ProjectedEncoder> network, SimClrOptions sgd, double targetMomentum, ViewAugmenter augmenter, ulong seed, Device device)
        : base(StateKind, TorchRuntime.Seeded(seed, () => new ByolModel(network())), sgd, SeededRandom.Derive(seed, "byol"), device)
    {
        _augmenter = augmenter;
        _momentum = targetMomentum;
        _target = TorchRuntime.Seeded(seed, network);
        _target.to(device);
        foreach (var p in _target.parameters()) p.requires_grad = false;
        MomentumEncoder.CopyFrom(_target, Online.Network);
    }

    private ByolModel Online => (ByolModel)Module;

    public override void LoadGlobal(ModelWeights global)
    {
        base.LoadGlobal(global);
        MomentumEncoder.CopyFrom(_target, Online.Network);
    }

    public override LocalTrainingResult Train(ImageShard shard)
    {
        if (shard.Count < 2) throw new InvalidOperationException($"BYOL needs at least 2 local images, the shard has {shard.Count}.");
        Module.train();
        _target.train();
        return TrainEpochs(AllOf(shard), batch =>
        {
            var images = shard.Images(batch, Device);
            return SymmetricLoss(_augmenter.Augment(images, Rng), _augmenter.Augment(images, Rng));
        }, () => MomentumEncoder.Follow(_target, Online.Network, _momentum));
    }

    /// <summary>BYOL's symmetrised loss: each view's online prediction against the target's projection of the other.</summary>
    internal Tensor SymmetricLoss(Tensor first, Tensor second) => SymmetricLoss(Module, _target, first, second);

    internal static Tensor SymmetricLoss(nn.Module<Tensor, Tensor> online, ProjectedEncoder target, Tensor first, Tensor second)
    {
        Tensor targetFirst, targetSecond;
        using (no_grad())
        {
            targetFirst = target.forward(first);
            targetSecond = target.forward(second);
        }
        return ByolLoss.Compute(online.forward(first), targetSecond) + ByolLoss.Compute(online.forward(second), targetFirst);
    }



    protected override void OnMoved(Device device)
    {
        _target.to(device);
        foreach (var p in _target.parameters()) p.requires_grad = false;
    }

    protected override void OnDispose() => _target.DisposeTree();
}
