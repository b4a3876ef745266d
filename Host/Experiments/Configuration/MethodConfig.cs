using FedActors.Training.Experiments;
using FedActors.Training.Methods;
using FedActors.Training.Methods.FedMoCo;
using FedActors.Training.Methods.Fcl;
using FedActors.Training.Objectives;

namespace FedActors.Host.Configuration;

/// <summary>The method an experiment runs (<c>fedactors.method</c>) and its options beside it.</summary>
public sealed record MethodSettings(string Name, FedMoCoOptions FedMoCo, double SimClrTemperature = Training.Objectives.NtXentLoss.DefaultTemperature,
    double SupervisedLabelFraction = 0.1, FedEmaOptions? FedEma = null, double FedProxMu = 0.01, double FedUThreshold = 1,
    FclOptions? Fcl = null, FclOptOptions? FclOpt = null, ImbalancedClassifierOptions? Classifier = null, AuxiliaryEncoderFile? Auxiliary = null,
    FedMasAggregation FedMasAggregation = FedMasAggregation.RobustFactor)
{
    public static MethodSettings Default { get; } = new(FedMoCoPlainMethod.MethodName, new FedMoCoOptions());

    public IFederatedMethod Create(FederatedMoCoExperiment experiment) => MethodCatalog.Create(Name, experiment, this);
}

/// <summary>
/// The methods <c>fedactors.method</c> may name, each built on the experiment's hospitals. The
/// project's own are registered here; a user's or a spec's method joins with <see cref="Register"/>
/// (no actor or command code changes), and the config then accepts its name.
/// </summary>
public static class MethodCatalog
{
    private static readonly System.Collections.Concurrent.ConcurrentDictionary<string, Func<FederatedMoCoExperiment, MethodSettings, IFederatedMethod>> Methods = new(
        new Dictionary<string, Func<FederatedMoCoExperiment, MethodSettings, IFederatedMethod>>
        {
            [FedMoCoPlainMethod.MethodName] = (experiment, _) => new FedMoCoPlainMethod(experiment),
            [FedMoCoServer.Name] = (experiment, settings) => new FedMoCoMethod(experiment, settings.FedMoCo),
            [SupervisedFedAvgMethod.MethodName] = (experiment, settings) => new SupervisedFedAvgMethod(experiment, settings.SupervisedLabelFraction),
            [FedEmaMethod.MethodName] = (experiment, settings) => new FedEmaMethod(experiment, settings.FedEma ?? new FedEmaOptions()),
            [FedProxMethod.MethodName] = (experiment, settings) => new FedProxMethod(experiment, settings.FedProxMu),
            [FedByolMethod.MethodName] = (experiment, _) => new FedByolMethod(experiment),
            [FedUMethod.MethodName] = (experiment, settings) => new FedUMethod(experiment, settings.FedUThreshold),
            [FclServer.Name] = (experiment, settings) =>
                new FclMethod(experiment, (settings.Fcl ?? new FclOptions()) with { Partitions = experiment.Settings.Partitions }),
            [FclOptServer.Name] = (experiment, settings) =>
                new FclOptMethod(experiment, (settings.FclOpt ?? new FclOptOptions()) with { Partitions = experiment.Settings.Partitions }),
            [LocalClMethod.MethodName] = (experiment, settings) =>
                new LocalClMethod(experiment, (settings.Fcl ?? new FclOptions()) with { Partitions = experiment.Settings.Partitions }),
            [ImbalancedClassificationMethod.FedMas] = Classification(ImbalancedClassificationMethod.FedMas),
            [ImbalancedClassificationMethod.FedAvgCe] = Classification(ImbalancedClassificationMethod.FedAvgCe),
            [ImbalancedClassificationMethod.FedAvgBsm] = Classification(ImbalancedClassificationMethod.FedAvgBsm),
            [ImbalancedClassificationMethod.FedProxCe] = Classification(ImbalancedClassificationMethod.FedProxCe),
            [NoPretrainingMethod.MethodName] = (experiment, _) => new NoPretrainingMethod(experiment),
            [FedSimClrMethod.MethodName] = (experiment, settings) =>
                new FedSimClrMethod(experiment, FedSimClrMethod.OptionsLike(experiment.Settings.MoCo, settings.SimClrTemperature)),
        });

    private static Func<FederatedMoCoExperiment, MethodSettings, IFederatedMethod> Classification(string name) => (experiment, settings) =>
        ImbalancedClassificationMethod.Create(name, experiment, settings.Classifier ?? new ImbalancedClassifierOptions(), settings.FedProxMu, settings.Auxiliary,
            settings.FedMasAggregation);

    private static readonly HashSet<string> VolumeMethods = [FclServer.Name, FclOptServer.Name, LocalClMethod.MethodName];

    /// <summary>Whether the method trains on slices tagged with their partition, so needs a volumetric data source.</summary>
    public static bool NeedsVolumes(string name) => VolumeMethods.Contains(name);

    public static IReadOnlyCollection<string> Names => Methods.Keys.Order(StringComparer.Ordinal).ToList();

    /// <summary>Makes <paramref name="name"/> a method the config may choose; a name taken by another method is an error.</summary>
    public static void Register(string name, Func<FederatedMoCoExperiment, MethodSettings, IFederatedMethod> create)
    {
        if (string.IsNullOrWhiteSpace(name) || name.Any(char.IsWhiteSpace)) throw new ArgumentException($"Method name '{name}' must be one word.", nameof(name));
        if (!Methods.TryAdd(name, create) && Methods[name] != create) throw new ArgumentException($"A method named '{name}' is already registered.", nameof(name));
    }

    public static IFederatedMethod Create(string name, FederatedMoCoExperiment experiment, MethodSettings settings) =>
        Methods.TryGetValue(name, out var create) ? create(experiment, settings) : throw new ConfigError($"No method named '{name}' (known: {string.Join(", ", Names)}).");
}

internal static class MethodConfig
{
    public const string MethodKey = "fedactors.method";

    public const string AuxiliaryKey = "fedactors.fedmas.auxiliary";
    private const string AuxiliaryHashKey = "fedactors.fedmas.auxiliary-hash";

    /// <param name="relativeTo">Where a relative auxiliary encoder path starts: the directory of the file that set it.</param>
    public static MethodSettings Read(ConfigReader r, string relativeTo)
    {
        var name = r.OneOf(MethodKey, [.. MethodCatalog.Names]);
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
            r.Double("fedactors.supervised.label-fraction", 1e-6, 1), FedEma(r),
            r.Double("fedactors.fedprox.mu", 0, 1e6), r.Double("fedactors.fedu.threshold", 0, 1e9), Fcl(r), FclOpt(r), Classifier(r),
            name == ImbalancedClassificationMethod.FedMas ? Auxiliary(r, relativeTo) : null,
            r.OneOf("fedactors.fedmas.aggregation", "robust-factor", "samples") == "samples" ? FedMasAggregation.Samples : FedMasAggregation.RobustFactor);
    }

    private static ImbalancedClassifierOptions Classifier(ConfigReader r)
    {
        const string c = "fedactors.classifier.";
        return new ImbalancedClassifierOptions
        {
            LearningRate = r.Double(c + "learning-rate", 1e-12, 10),
            ClipNorm = r.Double(c + "clip-norm", 1e-9, 1e9),
            BatchSize = r.Int(c + "batch-size", 2, 1_000_000),
            LocalEpochs = r.Int(c + "local-epochs", 1, 10_000),
            Lambda = r.Double("fedactors.fedmas.lambda", 0, 1e6),
        };
    }

    /// <summary>Fed-MAS's frozen encoder: a file that exists, and the hash every hospital will check it against.</summary>
    private static AuxiliaryEncoderFile Auxiliary(ConfigReader r, string relativeTo)
    {
        var path = r.String(AuxiliaryKey);
        if (path == "none") throw r.Error(AuxiliaryKey, "is none, but fedmas needs its auxiliary encoder: make one with `fedactors auxiliary` and give its path");
        var full = Path.GetFullPath(path, relativeTo);
        if (!File.Exists(full)) throw r.Error(AuxiliaryKey, $"names '{full}', which does not exist; make it with `fedactors auxiliary`");
        var hash = r.String(AuxiliaryHashKey);
        if (hash.Length != 64 || !hash.All(Uri.IsHexDigit))
            throw r.Error(AuxiliaryHashKey, $"is '{hash}', not a SHA-256 (64 hex digits); `fedactors auxiliary` prints the encoder's");
        return new AuxiliaryEncoderFile(full, hash);
    }

    private static FclOptOptions FclOpt(ConfigReader r)
    {
        const string f = "fedactors.fclopt.";
        var options = new FclOptOptions
        {
            Ptnu = r.Bool(f + "ptnu"),
            RoundMomentum = r.Double(f + "round-momentum", 0, 1),
            Dp = r.Bool(f + "dp"),
            Delta = r.Double(f + "delta", 0, 1e6),
        };
        if (options.Dp && !options.Ptnu) throw r.Error(f + "dp", "is on, but DP is built on PTNU: set fclopt.ptnu = on too");
        return options;
    }

    private static FclOptions Fcl(ConfigReader r)
    {
        const string f = "fedactors.fcl.";
        return new FclOptions
        {
            Temperature = r.Double(f + "temperature", 1e-4, 100),
            KeyMomentum = r.Double(f + "key-momentum", 0, 0.999999),
            LocalBankSize = r.Int(f + "local-bank", 1, 10_000_000),
            Negatives = r.Int(f + "negatives", 1, 10_000_000),
            ExchangeSize = r.Int(f + "exchange-size", 1, 10_000_000),
        };
    }

    private static FedEmaOptions FedEma(ConfigReader r)
    {
        const string lambda = "fedactors.fedema.lambda";
        return new FedEmaOptions(r.String(lambda) == "auto" ? null : r.Double(lambda, 0, 1e9), r.Double("fedactors.fedema.tau", 0, 1));
    }
}
