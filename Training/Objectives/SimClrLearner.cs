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
    /// <summary>NT-Xent's τ. Default 0.5; fedsimclr's method key <c>simclr.temperature</c>.</summary>
    public double Temperature { get; init; } = NtXentLoss.DefaultTemperature;
    /// <summary>SGD learning rate. Default 0.06 (fedsimclr takes <c>fedactors.moco.learning-rate</c>).</summary>
    public double LearningRate { get; init; } = 0.06;
    /// <summary>SGD momentum. Default 0.9 (fedsimclr takes <c>fedactors.moco.sgd-momentum</c>).</summary>
    public double SgdMomentum { get; init; } = 0.9;
    /// <summary>SGD's L2 weight decay. Default 1e-4 (fedsimclr takes <c>fedactors.moco.weight-decay</c>).</summary>
    public double WeightDecay { get; init; } = 1e-4;
    /// <summary>Images per step; a ragged last batch is dropped. Default 64 (fedsimclr takes <c>fedactors.moco.batch-size</c>).</summary>
    public int BatchSize { get; init; } = 64;
    /// <summary>Passes over the local shard per round. Default 1 (fedsimclr takes <c>fedactors.moco.local-epochs</c>).</summary>
    public int LocalEpochs { get; init; } = 1;
}

/// <summary>
/// One client's SimCLR: one network (backbone + projection head, the federated part), two
/// augmented views per image, NT-Xent over the 2N views of a batch (the other images of the batch
/// are the negatives: no queue, no key encoder). Optimiser state and RNG persist across rounds.
/// </summary>
/// <param name="network">Builds the network; it is built seeded from <paramref name="seed"/> and owned by the learner.</param>
/// <param name="options">Temperature, SGD and batch settings.</param>
/// <param name="augmenter">Draws the two views of each image.</param>
/// <param name="seed">The hospital's seed: initialisation and the learner's RNG derive from it.</param>
/// <param name="device">Device training starts on.</param>
public sealed class SimClrLearner(Func<ProjectedEncoder> network, SimClrOptions options, ViewAugmenter augmenter, ulong seed, Device device)
    : ModuleLearner(StateKind, TorchRuntime.Seeded(seed, network), options, SeededRandom.Derive(seed, "simclr"), device)
{
    /// <summary>The state kind written into this learner's saved state.</summary>
    public const string StateKind = "simclr";

    /// <summary>The federated network (backbone + projection head), owned by the learner.</summary>
    public ProjectedEncoder Network => (ProjectedEncoder)Module;

    /// <summary>One round of SimCLR on every image of <paramref name="shard"/>.</summary>
    /// <param name="shard">The hospital's images; at least 2.</param>
    /// <exception cref="InvalidOperationException">The shard has fewer than 2 images.</exception>
    public override LocalTrainingResult Train(ImageShard shard)
    {
        if (shard.Count < 2) throw new InvalidOperationException($"SimCLR needs at least 2 local images, the shard has {shard.Count}.");
        Module.train();
        return TrainEpochs(AllOf(shard), batch =>
        {
            var images = shard.Images(batch, Device);
            var first = Module.forward(augmenter.Augment(images, Rng));
            var second = Module.forward(augmenter.Augment(images, Rng));
            return NtXentLoss.Compute(first, second, Options.Temperature);
        });
    }
}
