using FedActors.Training.Augmentations;
using FedActors.Training.Experiments;
using FedActors.Training.Objectives;
using FedActors.Training.Randomness;
using FedActors.Training.Weights;

namespace FedActors.Training.Methods;

/// <summary>
/// Supervised FedAvg on the labelled fraction (ALGORITHMS.md §5): each hospital trains the encoder
/// and a linear classifier with cross-entropy on <paramref name="labelFraction"/> of its labels; the
/// server averages both. Judged like the SSL methods: by its encoder.
/// </summary>
public sealed class SupervisedFedAvgMethod(FederatedExperiment experiment, double labelFraction) : IFederatedMethod
{
    /// <summary>The config name, <c>fedavg-supervised</c>.</summary>
    public const string MethodName = "fedavg-supervised";

    /// <summary>The share of each hospital's labels it trains on.</summary>
    public static readonly NumberKey LabelFraction = new("supervised.label-fraction", 0.1, 1e-6, 1, "the share of each hospital's labels it trains on");

    /// <summary>Supervised FedAvg, judged by its encoder like the SSL methods.</summary>
    public static MethodRegistration Registration { get; } = new(MethodName,
        "encoder + linear classifier, cross-entropy on a fraction of each hospital's labels, FedAvg (ALGORITHMS.md §5)",
        (experiment, settings) => new SupervisedFedAvgMethod(experiment, settings.Get(LabelFraction))) { Keys = [LabelFraction] };

    /// <inheritdoc/>
    public string Name => MethodName;

    private SupervisedModel CreateModel() => experiment.Networks.Build(nameof(SupervisedModel), () => new SupervisedModel(experiment.CreateNetwork(), experiment.Sites.Classes));

    /// <summary>
    /// A <see cref="SupervisedLearner"/> for <paramref name="hospitalId"/> on the encoder plus linear classifier, trained like the
    /// experiment's MoCo clients (learning rate, momentum, decay, batch, epochs) on its labelled fraction.
    /// </summary>
    /// <param name="hospitalId">The hospital whose learner it is.</param>
    public ILocalLearner CreateClient(string hospitalId) =>
        new SupervisedLearner(CreateModel, FedSimClrMethod.OptionsLike(experiment.Settings.MoCo, Objectives.NtXentLoss.DefaultTemperature),
            new ViewAugmenter(experiment.Settings.Augmentation), labelFraction,
            SeededRandom.DeriveSeed(experiment.Settings.Seed, $"{hospitalId}/learner"), experiment.Device);

    /// <summary>A <see cref="FederatedAveragingServer"/> under the name <c>fedavg-supervised</c>.</summary>
    public IFederatedServer CreateServer() => new FederatedAveragingServer(MethodName);

    /// <summary>The seeded initial <see cref="SupervisedModel"/> (encoder and classifier), drawn from the experiment seed.</summary>
    public ModelWeights InitialGlobal()
    {
        using var model = TorchRuntime.Seeded(SeededRandom.DeriveSeed(experiment.Settings.Seed, "global/init"), CreateModel);
        return ModelWeights.FromModule(model);
    }
}
