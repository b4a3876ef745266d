using FedActors.Training.Experiments;
using FedActors.Training.Objectives;
using FedActors.Training.Randomness;

namespace FedActors.Training.Methods.FedMoCo;

/// <summary>FedMoCo (ALGORITHMS.md §1) on an experiment's hospitals: MoCo v2 clients with its modules, its server.</summary>
public sealed class FedMoCoMethod(FederatedExperiment experiment, FedMoCoOptions options) : IFederatedMethod
{
    /// <summary>Metadata transfer on or off (<see cref="FedMoCoOptions.MetadataTransfer"/>).</summary>
    public static readonly SwitchKey MetadataTransfer = new("fedmoco.metadata-transfer", true, "sites upload intensity mean/std once; the server broadcasts them");

    /// <summary><see cref="FedMoCoOptions.MetaProbability"/>.</summary>
    public static readonly NumberKey MetaProbability = new("fedmoco.p-meta", 0.5, 0, 1, "chance a view is re-standardised to another site's statistics");

    /// <summary>Self-adaptive aggregation on or off (<see cref="FedMoCoOptions.RsaAggregation"/>).</summary>
    public static readonly SwitchKey RsaAggregation = new("fedmoco.rsa-aggregation", true, "clients upload RSA rho; weights n_i * max(rho_i, 0)^gamma");

    /// <summary>γ of the RSA weights (<see cref="FedMoCoOptions.Gamma"/>).</summary>
    public static readonly NumberKey Gamma = new("fedmoco.gamma", 1, 0, 100, "the exponent of rho in the aggregation weights");

    /// <summary><see cref="FedMoCoOptions.RsaMode"/>: <c>similar</c>, or <c>dissimilar</c> (ablation).</summary>
    public static readonly ChoiceKey Mode = new("fedmoco.rsa-mode", "similar", ["similar", "dissimilar"], "weigh by rho, or by 1 - rho (ablation)");

    /// <summary><see cref="FedMoCoOptions.RsaProbeBatch"/>.</summary>
    public static readonly IntegerKey RsaProbeBatch = new("fedmoco.rsa-probe-batch", 64, 3, 100_000, "local images whose RDMs (trained vs received global) are compared");

    /// <summary>FedMoCo, its two modules' keys, built with <see cref="OptionsOf"/>.</summary>
    public static MethodRegistration Registration { get; } = new(FedMoCoServer.Name,
        "MoCo v2 clients with metadata transfer and RSA-weighted aggregation (ALGORITHMS.md §1; ASSUMED forms)",
        (experiment, settings) => new FedMoCoMethod(experiment, OptionsOf(settings)))
    {
        Keys = [MetadataTransfer, MetaProbability, RsaAggregation, Gamma, Mode, RsaProbeBatch],
    };

    /// <summary>FedMoCo's options as <paramref name="settings"/> set them.</summary>
    public static FedMoCoOptions OptionsOf(MethodSettings settings) => new()
    {
        MetadataTransfer = settings.Get(MetadataTransfer),
        MetaProbability = settings.Get(MetaProbability),
        RsaAggregation = settings.Get(RsaAggregation),
        Gamma = settings.Get(Gamma),
        RsaMode = settings.Get(Mode) == "similar" ? RsaMode.Similar : RsaMode.Dissimilar,
        RsaProbeBatch = settings.Get(RsaProbeBatch),
    };

    /// <summary>The config name, <c>fedmoco</c> (<see cref="FedMoCoServer.Name"/>).</summary>
    public string Name => FedMoCoServer.Name;

    /// <summary>A <see cref="FedMoCoClient"/> around the experiment's MoCo v2 learner for <paramref name="hospitalId"/>, its RSA probe seeded from the experiment seed.</summary>
    /// <param name="hospitalId">The hospital whose client it is.</param>
    public ILocalLearner CreateClient(string hospitalId) =>
        new FedMoCoClient((MoCoV2Learner)experiment.CreateLearner(hospitalId), experiment.CreateMoCoNetwork, hospitalId, options,
            SeededRandom.DeriveSeed(experiment.Settings.Seed, $"{hospitalId}/fedmoco"));

    /// <summary>A fresh <see cref="FedMoCoServer"/> with no known sites (they come back from the checkpoint).</summary>
    public IFederatedServer CreateServer() => new FedMoCoServer(options);

    /// <summary>The experiment's seeded initial MoCo v2 network (<see cref="FederatedExperiment.InitialMoCoGlobal"/>).</summary>
    public Weights.ModelWeights InitialGlobal() => experiment.InitialMoCoGlobal();
}

/// <summary>FedMoCo-plain: MoCo v2 clients and FedAvg, no FedMoCo module (the baseline FedMoCo must beat).</summary>
public sealed class FedMoCoPlainMethod(FederatedExperiment experiment) : IFederatedMethod
{
    /// <summary>The config name, <c>fedmoco-plain</c>.</summary>
    public const string MethodName = "fedmoco-plain";

    /// <summary>FedMoCo-plain: no keys of its own (its clients use the experiment's <c>moco</c> settings).</summary>
    public static MethodRegistration Registration { get; } = new(MethodName, "MoCo v2 clients, FedAvg, no FedMoCo module: the baseline",
        (experiment, _) => new FedMoCoPlainMethod(experiment));

    /// <inheritdoc/>
    public string Name => MethodName;

    /// <summary>The experiment's MoCo v2 learner for <paramref name="hospitalId"/>, as it is.</summary>
    /// <param name="hospitalId">The hospital whose learner it is.</param>
    public ILocalLearner CreateClient(string hospitalId) => experiment.CreateLearner(hospitalId);

    /// <summary>A <see cref="FederatedAveragingServer"/> under the name <c>fedmoco-plain</c>.</summary>
    public IFederatedServer CreateServer() => new FederatedAveragingServer(MethodName);

    /// <summary>The experiment's seeded initial MoCo v2 network (<see cref="FederatedExperiment.InitialMoCoGlobal"/>).</summary>
    public Weights.ModelWeights InitialGlobal() => experiment.InitialMoCoGlobal();
}
