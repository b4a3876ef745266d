using FedActors.Training.Augmentations;
using FedActors.Training.Data;
using FedActors.Training.Evaluation;
using FedActors.Training.Models;
using FedActors.Training.Randomness;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace FedActors.Training.Objectives;

/// <summary>The supervised baseline's model: the SSL methods' encoder plus a linear classifier on its features, federated together.</summary>
public sealed class SupervisedModel : Module<Tensor, Tensor>
{
    /// <summary>The encoder's field: its tensors are <c>network.*</c>, where evaluation finds them like any other method's encoder.</summary>
    public const string Encoder = "network";

    private readonly ProjectedEncoder network;
    private readonly LinearClassifier classifier;

    /// <summary>Creates the model around <paramref name="encoder"/>, which it owns from now on, with a new linear head.</summary>
    /// <param name="encoder">The encoder whose pooled features are classified.</param>
    /// <param name="classes">Number of classes the head scores.</param>
    public SupervisedModel(ProjectedEncoder encoder, int classes) : base("supervised")
    {
        network = encoder;
        classifier = new LinearClassifier(encoder.FeatureDim, classes);
        RegisterComponents();
    }

    /// <summary>Class logits [B, classes] of <paramref name="images"/> [B, C, H, W]; the projection head is not used.</summary>
    /// <param name="images">A batch of images on the model's device.</param>
    public override Tensor forward(Tensor images) => classifier.forward(network.Features(images));
}

/// <summary>
/// Supervised FedAvg's client (ALGORITHMS.md §5): cross-entropy on a fixed, stratified fraction of
/// its shard's labels (drawn once from its seed), with the views' augmentation, SGD with momentum
/// (the SSL clients' settings); the encoder and the classifier are federated. Optimiser state and
/// RNG persist across rounds.
/// </summary>
/// <param name="model">Builds the model; it is built seeded from <paramref name="seed"/> and owned by the learner.</param>
/// <param name="options">SGD and batch settings (the SSL clients').</param>
/// <param name="augmenter">Draws the augmented view each labelled image is trained on.</param>
/// <param name="labelFraction">Fraction of each class's images whose labels are used, in (0, 1].</param>
/// <param name="seed">The hospital's seed: initialisation, the labelled subset and the learner's RNG derive from it.</param>
/// <param name="device">Device training starts on.</param>
/// <exception cref="ArgumentOutOfRangeException"><paramref name="labelFraction"/> is outside (0, 1].</exception>
public sealed class SupervisedLearner(Func<SupervisedModel> model, SimClrOptions options, ViewAugmenter augmenter, double labelFraction, ulong seed, Device device)
    : ModuleLearner(StateKind, TorchRuntime.Seeded(seed, model), options, SeededRandom.Derive(seed, "supervised"), device)
{
    /// <summary>The state kind written into this learner's saved state.</summary>
    public const string StateKind = "supervised";
    private readonly double _labelFraction = labelFraction is > 0 and <= 1
        ? labelFraction
        : throw new ArgumentOutOfRangeException(nameof(labelFraction), labelFraction, "must be in (0, 1]");
    private int[]? _labelled;

    /// <summary>One round of cross-entropy on the shard's labelled fraction (chosen at the first round and kept).</summary>
    /// <param name="shard">The hospital's labelled images; the same shard every round.</param>
    public override LocalTrainingResult Train(ImageShard shard)
    {
        // The same labelled images every round: a hospital's labels do not change between rounds.
        _labelled ??= LinearProbe.StratifiedFraction(shard, _labelFraction, SeededRandom.Derive(seed, "supervised/labels"));
        Module.train();
        return TrainEpochs(_labelled, indices =>
            functional.cross_entropy(Module.forward(augmenter.Augment(shard.Images(indices, Device), Rng)), shard.LabelTensor(indices, Device)));
    }
}
