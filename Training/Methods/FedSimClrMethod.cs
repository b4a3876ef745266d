using FedActors.Training.Augmentations;
using FedActors.Training.Experiments;
using FedActors.Training.Objectives;
using FedActors.Training.Randomness;

namespace FedActors.Training.Methods;

/// <summary>FedSimCLR (ALGORITHMS.md §5): SimCLR clients, FedAvg of the whole network (backbone + projection head).</summary>
public sealed class FedSimClrMethod(FederatedExperiment experiment, SimClrOptions options) : IFederatedMethod
{
    /// <summary>The config name, <c>fedsimclr</c>.</summary>
    public const string MethodName = "fedsimclr";

    /// <summary>The NT-Xent temperature of its clients.</summary>
    public static readonly NumberKey Temperature = new("simclr.temperature", NtXentLoss.DefaultTemperature, 1e-3, 100, "NT-Xent temperature of fedsimclr's clients");

    /// <summary>FedSimCLR, its clients trained like the experiment's MoCo clients at <see cref="Temperature"/>.</summary>
    public static MethodRegistration Registration { get; } = new(MethodName, "SimCLR clients, FedAvg (ALGORITHMS.md §5)",
        (experiment, settings) => new FedSimClrMethod(experiment, OptionsLike(experiment.Settings.MoCo, settings.Get(Temperature)))) { Keys = [Temperature] };

    /// <inheritdoc/>
    public string Name => MethodName;

    /// <summary>A <see cref="SimClrLearner"/> on the experiment's network for <paramref name="hospitalId"/>, seeded from the experiment seed and the hospital id.</summary>
    /// <param name="hospitalId">The hospital whose learner it is.</param>
    public ILocalLearner CreateClient(string hospitalId) =>
        new SimClrLearner(experiment.CreateNetwork, options, new ViewAugmenter(experiment.Settings.Augmentation),
            SeededRandom.DeriveSeed(experiment.Settings.Seed, $"{hospitalId}/learner"), experiment.Device);

    /// <summary>A <see cref="FederatedAveragingServer"/> under the name <c>fedsimclr</c>.</summary>
    public IFederatedServer CreateServer() => new FederatedAveragingServer(MethodName);

    /// <summary>The experiment's seeded initial network (<see cref="FederatedExperiment.InitialGlobal"/>).</summary>
    public Weights.ModelWeights InitialGlobal() => experiment.InitialGlobal();

    /// <summary>SimCLR trained like the experiment's MoCo clients (learning rate, momentum, decay, batch, epochs), at its own temperature.</summary>
    public static SimClrOptions OptionsLike(MoCoV2Options moco, double temperature) => new()
    {
        Temperature = temperature,
        LearningRate = moco.LearningRate,
        SgdMomentum = moco.SgdMomentum,
        WeightDecay = moco.WeightDecay,
        BatchSize = moco.BatchSize,
        LocalEpochs = moco.LocalEpochs,
    };
}
