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
public sealed class SimClrLearner(Func<ProjectedEncoder> network, SimClrOptions options, ViewAugmenter augmenter, ulong seed, Device device)
    : ModuleLearner(StateKind, TorchRuntime.Seeded(seed, network), options, SeededRandom.Derive(seed, "simclr"), device)
{
    public const string StateKind = "simclr";

    public ProjectedEncoder Network => (ProjectedEncoder)Module;

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
