using FedActors.Training.Experiments;
using FedActors.Training.Methods;
using FedActors.Training.Methods.FedMoCo;

namespace FedActors.Host.Configuration;

/// <summary>The method an experiment runs (<c>fedactors.method</c>) and its options beside it.</summary>
public sealed record MethodSettings(string Name, FedMoCoOptions FedMoCo, double SimClrTemperature = Training.Objectives.NtXentLoss.DefaultTemperature,
    double SupervisedLabelFraction = 0.1)
{
    public static MethodSettings Default { get; } = new(FedMoCoPlainMethod.MethodName, new FedMoCoOptions());

    /// <summary>The methods <c>fedactors.method</c> may name, each built on the experiment's hospitals.</summary>
    public static readonly IReadOnlyDictionary<string, Func<FederatedMoCoExperiment, MethodSettings, IFederatedMethod>> Catalog =
        new Dictionary<string, Func<FederatedMoCoExperiment, MethodSettings, IFederatedMethod>>
        {
            [FedMoCoPlainMethod.MethodName] = (experiment, _) => new FedMoCoPlainMethod(experiment),
            [FedMoCoServer.Name] = (experiment, settings) => new FedMoCoMethod(experiment, settings.FedMoCo),
            [SupervisedFedAvgMethod.MethodName] = (experiment, settings) => new SupervisedFedAvgMethod(experiment, settings.SupervisedLabelFraction),
            [FedSimClrMethod.MethodName] = (experiment, settings) =>
                new FedSimClrMethod(experiment, FedSimClrMethod.OptionsLike(experiment.Settings.MoCo, settings.SimClrTemperature)),
        };

    public IFederatedMethod Create(FederatedMoCoExperiment experiment) => Catalog[Name](experiment, this);
}

internal static class MethodConfig
{
    public const string MethodKey = "fedactors.method";

    public static MethodSettings Read(ConfigReader r)
    {
        var name = r.OneOf(MethodKey, [.. MethodSettings.Catalog.Keys]);
        const string f = "fedactors.fedmoco.";
        var fedmoco = new FedMoCoOptions
        {
            MetadataTransfer = r.Bool(f + "metadata-transfer"),
            MetaProbability = r.Double(f + "p-meta", 0, 1),
            RsaAggregation = r.Bool(f + "rsa-aggregation"),
            Gamma = r.Double(f + "gamma", 0, 100),
            RsaMode = r.OneOf(f + "rsa-mode", "similar", "dissimilar") == "similar" ? RsaMode.Similar : RsaMode.Dissimilar,
            RsaProbeBatch = r.Int(f + "rsa-probe-batch", 3, 100_000),
        };
        return new MethodSettings(name, fedmoco, r.Double("fedactors.simclr.temperature", 1e-3, 100),
            r.Double("fedactors.supervised.label-fraction", 1e-6, 1));
    }
}
