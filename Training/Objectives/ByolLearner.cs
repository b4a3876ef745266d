using FedActors.Training.Augmentations;
using FedActors.Training.Data;
using FedActors.Training.Models;
using FedActors.Training.Randomness;
using FedActors.Training.Weights;
using TorchSharp;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace FedActors.Training.Objectives;

/// <summary>
/// BYOL's online side: the encoder with its projection head, and the predictor q_θ on the projection.
/// The predictor takes the raw projection z_θ(x), as in BYOL; only the loss (<see cref="ByolLoss"/>)
/// L2-normalises, the prediction and the target's projection alike.
/// </summary>
public sealed class ByolModel : Module<Tensor, Tensor>
{
    /// <summary>The encoder's field, the same as the supervised model's: evaluation finds it under <c>network.*</c>.</summary>
    public const string Encoder = SupervisedModel.Encoder;

    /// <summary>The predictor's field: its weights are <c>predictor.*</c>.</summary>
    public const string Predictor = "predictor";

    private readonly ProjectedEncoder network;
    private readonly ProjectionHead predictor;

    /// <summary>The online model around <paramref name="encoder"/>, with a new predictor Linear–BN–ReLU–Linear (projection → encoder width → projection).</summary>
    /// <param name="encoder">The online encoder with its projection head (the federated network).</param>
    public ByolModel(ProjectedEncoder encoder) : base("byol")
    {
        network = encoder;
        predictor = new ProjectionHead(encoder.ProjectionDim, encoder.FeatureDim, encoder.ProjectionDim);
        RegisterComponents();
    }

    /// <summary>The online encoder with its projection head.</summary>
    public ProjectedEncoder Network => network;

    /// <summary>The prediction q_θ(z_θ(x)): the predictor on the raw (not normalised) projection of <paramref name="images"/>.</summary>
    /// <param name="images">A batch of images.</param>
    public override Tensor forward(Tensor images)
    {
        using var scope = NewDisposeScope();
        return predictor.forward(network.Project(network.Features(images))).MoveToOuterDisposeScope();
    }
}

/// <summary>
/// One client's BYOL (ALGORITHMS.md §0): the online network predicts the target network's
/// projection of the other view, loss 2 − 2·cos, symmetrised; the target is an EMA of the online
/// encoder (momentum <c>moco.key-momentum</c>), re-initialised from each round's global. The online
/// encoder and the predictor are federated.
/// </summary>
public sealed class ByolLearner : ModuleLearner
{
    /// <summary>The kind written in this learner's saved state.</summary>
    public const string StateKind = "byol";
    private readonly ViewAugmenter _augmenter;
    private readonly double _momentum;
    private readonly ProjectedEncoder _target;

    /// <summary>A BYOL learner whose online and target networks are built by <paramref name="network"/>, seeded from <paramref name="seed"/>.</summary>
    /// <param name="network">Builds the encoder with its projection head (the online one and the target).</param>
    /// <param name="sgd">The optimiser's settings, batch size and local epochs.</param>
    /// <param name="targetMomentum">m of the target's per-step EMA of the online encoder.</param>
    /// <param name="augmenter">Draws the two views of each image.</param>
    /// <param name="seed">Seeds the networks' initialisation and every draw of this learner.</param>
    /// <param name="device">Where the networks live.</param>
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

    /// <summary>Takes <paramref name="global"/> as the online network and re-initialises the target from its encoder.</summary>
    /// <param name="global">The round's global online network (encoder and predictor).</param>
    public override void LoadGlobal(ModelWeights global)
    {
        base.LoadGlobal(global);
        MomentumEncoder.CopyFrom(_target, Online.Network);
    }

    /// <summary>The local epochs of BYOL on <paramref name="shard"/>: two augmented views per image, the target following by EMA after each step.</summary>
    /// <param name="shard">The hospital's training images (at least 2).</param>
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



    /// <summary>Moves the target network to <paramref name="device"/> too, its parameters staying frozen (no gradients).</summary>
    /// <param name="device">The device the online model has just moved to.</param>
    protected override void OnMoved(Device device)
    {
        _target.to(device);
        foreach (var p in _target.parameters()) p.requires_grad = false;
    }

    /// <summary>Disposes the target network with all its submodules.</summary>
    protected override void OnDispose() => _target.DisposeTree();
}
