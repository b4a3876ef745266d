using FedActors.Training.Augmentations;
using FedActors.Training.Data;
using FedActors.Training.Evaluation;
using FedActors.Training.Models;
using FedActors.Training.Objectives;
using FedActors.Training.Randomness;
using FedActors.Training.Weights;
using TorchSharp;
using static TorchSharp.torch;

namespace FedActors.Training.Experiments;

/// <summary>
/// Federated MoCo v2 on synthetic site-shifted images: builds the network, each
/// hospital's learner, the initial global weights, and the linear-probe evaluation.
/// </summary>
public sealed class FederatedMoCoExperiment
{
    private readonly Lazy<(ImageShard Labelled, ImageShard Test)> _probeSets;

    public FederatedMoCoExperiment(ExperimentSettings settings)
    {
        Settings = settings;
        Device = TorchRuntime.ParseDevice(settings.Device);
        Sites = SyntheticSites.Generate(settings);
        _probeSets = new Lazy<(ImageShard, ImageShard)>(() =>
        {
            var pool = Sites.PooledTrain();
            var chosen = LinearProbe.StratifiedFraction(pool, settings.ProbeLabelFraction, SeededRandom.Derive(settings.Seed, "probe/labels"));
            return (pool.Subset(chosen), Sites.PooledTest());
        });
    }

    public ExperimentSettings Settings { get; }
    public Device Device { get; }
    public SyntheticSites Sites { get; }

    public ProjectedEncoder CreateNetwork() => ProjectedEncoder.SmallCnn(Settings.EncoderWidths, Settings.ProjectionDim);

    /// <summary>The round-0 global model, drawn from the experiment seed.</summary>
    public ModelWeights InitialGlobal()
    {
        using var network = TorchRuntime.Seeded(SeededRandom.DeriveSeed(Settings.Seed, "global/init"), CreateNetwork);
        return ModelWeights.FromModule(network);
    }

    public ILocalLearner CreateLearner(string hospitalId) =>
        new MoCoV2Learner(CreateNetwork, Settings.MoCo, new ViewAugmenter(Settings.Augmentation),
            SeededRandom.DeriveSeed(Settings.Seed, $"{hospitalId}/learner"), Device);

    /// <summary>Linear probe of the backbone carrying <paramref name="weights"/> (labelled fraction of the pooled train split → pooled test split).</summary>
    public ProbeResult Probe(ModelWeights weights)
    {
        using var network = TorchRuntime.Seeded(0, CreateNetwork);
        weights.LoadInto(network);
        network.to(Device);
        var (labelled, test) = _probeSets.Value;
        return LinearProbe.Evaluate(network.Backbone, labelled, test, Settings.Classes, Device,
            SeededRandom.DeriveSeed(Settings.Seed, "probe/head"), Settings.Probe);
    }
}
