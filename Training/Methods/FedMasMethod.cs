using FedActors.Training.Augmentations;
using FedActors.Training.Experiments;
using FedActors.Training.Models;
using FedActors.Training.Objectives;
using FedActors.Training.Randomness;
using FedActors.Training.Weights;

namespace FedActors.Training.Methods;

/// <summary>Where Fed-MAS's frozen auxiliary encoder is, and the content hash every hospital checks it against.</summary>
/// <param name="Path">The auxiliary encoder's <c>.weights</c> file (config key <c>fedmas.auxiliary</c>).</param>
/// <param name="ContentHash">Its SHA-256 content hash, 64 hex digits (config key <c>fedmas.auxiliary-hash</c>).</param>
public sealed record AuxiliaryEncoderFile(string Path, string ContentHash);

/// <summary>How the Fed-MAS server weighs uploads: by robust factor (the method), or by sample count (an ablation that keeps its local loss).</summary>
public enum FedMasAggregation
{
    /// <summary>Each upload weighs its robust factor over their sum (Fed-MAS itself; config <c>robust-factor</c>, the default).</summary>
    RobustFactor,
    /// <summary>Each upload weighs its sample count, as FedAvg (ablation; config <c>samples</c>).</summary>
    Samples,
}

/// <summary>
/// Supervised federated classification on imbalanced, heterogeneous sites (ALGORITHMS.md §4), one family on
/// the two-head <see cref="FedMasModel"/> and <see cref="ImbalancedClassifierLearner"/>:
/// <list type="bullet">
/// <item><c>fedmas</c>: Fed-MAS, aggregation weighted by each client's robust factor against a frozen auxiliary encoder;</item>
/// <item><c>fedavg-ce</c>, <c>fedavg-bsm</c>: FedAvg with cross entropy or balanced softmax;</item>
/// <item><c>fedprox-ce</c>: FedProx (μ/2‖θ − θ_g‖²) with cross entropy.</item>
/// </list>
/// Judged by the global model's balanced accuracy (<see cref="FederatedExperiment.EvaluateClassifier"/>).
/// </summary>
public sealed class ImbalancedClassificationMethod : IFederatedMethod
{
    /// <summary>The family's names.</summary>
    public const string FedMas = "fedmas", FedAvgCe = "fedavg-ce", FedAvgBsm = "fedavg-bsm", FedProxCe = "fedprox-ce";

    /// <summary><see cref="ImbalancedClassifierOptions.LearningRate"/> (Adam).</summary>
    public static readonly NumberKey LearningRate = new("classifier.learning-rate", 3e-4, 1e-12, 10, "Adam's learning rate, its state kept across rounds");

    /// <summary><see cref="ImbalancedClassifierOptions.ClipNorm"/>.</summary>
    public static readonly NumberKey ClipNorm = new("classifier.clip-norm", 5, 1e-9, 1e9, "gradient clipping norm");

    /// <summary><see cref="ImbalancedClassifierOptions.BatchSize"/>.</summary>
    public static readonly IntegerKey BatchSize = new("classifier.batch-size", 32, 2, 1_000_000, "images per step");

    /// <summary><see cref="ImbalancedClassifierOptions.LocalEpochs"/>.</summary>
    public static readonly IntegerKey LocalEpochs = new("classifier.local-epochs", 1, 1, 10_000, "local epochs per round");

    /// <summary>Fed-MAS's λ (<see cref="ImbalancedClassifierOptions.Lambda"/>).</summary>
    public static readonly NumberKey Lambda = new("fedmas.lambda", 3, 0, 1e6, "loss = lambda * mean L_f + BSM(out_1) + BSM(out_2)");

    /// <summary><see cref="FedMasAggregation"/>: <c>robust-factor</c> (the method) or <c>samples</c> (ablation).</summary>
    public static readonly ChoiceKey Aggregation = new("fedmas.aggregation", "robust-factor", ["robust-factor", "samples"],
        "robust-factor (the method) | samples (ablation: its local loss, FedAvg's weights)");

    /// <summary>The frozen auxiliary encoder's file (<c>fedactors auxiliary</c> makes it).</summary>
    public static readonly PathKey Auxiliary = new("fedmas.auxiliary", "the auxiliary encoder's .weights (relative to the file that sets it)");

    /// <summary>The auxiliary encoder's content hash.</summary>
    public static readonly TextKey AuxiliaryHash = new("fedmas.auxiliary-hash", "none", "its content hash, as `fedactors auxiliary` prints it");

    private static readonly MethodKey[] ClassifierKeys = [LearningRate, ClipNorm, BatchSize, LocalEpochs];

    /// <summary>The family's four methods: each trains the small-CNN classifier on labelled images and is judged by its global classifier.</summary>
    public static IReadOnlyList<MethodRegistration> Registrations { get; } =
    [
        Registration(FedMas, "the two-head classifier, aggregation by robust factor against a frozen auxiliary encoder (ALGORITHMS.md §4)",
            [.. ClassifierKeys, Lambda, Aggregation, Auxiliary, AuxiliaryHash]) with { Check = CheckAuxiliary },
        Registration(FedAvgCe, "the same classifier, cross entropy, FedAvg", ClassifierKeys),
        Registration(FedAvgBsm, "the same classifier, balanced softmax, FedAvg", ClassifierKeys),
        Registration(FedProxCe, "fedavg-ce plus fedprox.mu/2 * ||params - global||^2", [.. ClassifierKeys, FedProxMethod.Mu]),
    ];

    private static MethodRegistration Registration(string name, string summary, IReadOnlyList<MethodKey> keys) =>
        new(name, summary, (experiment, settings) => Create(name, experiment, OptionsOf(settings), settings.Get(FedProxMethod.Mu),
            settings.Get(Auxiliary) is var path && path != PathKey.None ? new AuxiliaryEncoderFile(path, settings.Get(AuxiliaryHash)) : null,
            settings.Get(Aggregation) == "samples" ? FedMasAggregation.Samples : FedMasAggregation.RobustFactor))
        {
            Keys = keys,
            Data = MethodData.LabelledImages,
            Encoder = ExperimentSettings.SmallCnnEncoder,
            Evaluations = MethodEvaluations.LinearProbe | MethodEvaluations.FineTune | MethodEvaluations.GlobalClassifier,
        };

    private static ImbalancedClassifierOptions OptionsOf(MethodSettings settings) => new()
    {
        LearningRate = settings.Get(LearningRate),
        ClipNorm = settings.Get(ClipNorm),
        BatchSize = settings.Get(BatchSize),
        LocalEpochs = settings.Get(LocalEpochs),
        Lambda = settings.Get(Lambda),
    };

    /// <summary>Fed-MAS's frozen encoder: a file that exists, and the hash every hospital will check it against.</summary>
    private static void CheckAuxiliary(MethodSettings settings)
    {
        var path = settings.Get(Auxiliary);
        if (path == PathKey.None)
            throw new MethodSettingsException(Auxiliary, "is none, but fedmas needs its auxiliary encoder: make one with `fedactors auxiliary` and give its path");
        if (!File.Exists(path)) throw new MethodSettingsException(Auxiliary, $"names '{path}', which does not exist; make it with `fedactors auxiliary`");
        var hash = settings.Get(AuxiliaryHash);
        if (hash.Length != 64 || !hash.All(Uri.IsHexDigit))
            throw new MethodSettingsException(AuxiliaryHash, $"is '{hash}', not a SHA-256 (64 hex digits); `fedactors auxiliary` prints the encoder's");
    }

    private readonly FederatedExperiment _experiment;
    private readonly ImbalancedClassifierOptions _options;
    private readonly AuxiliaryEncoderFile? _auxiliary;
    private readonly FedMasAggregation _aggregation;

    private ImbalancedClassificationMethod(string name, FederatedExperiment experiment, ImbalancedClassifierOptions options, AuxiliaryEncoderFile? auxiliary,
        FedMasAggregation aggregation = FedMasAggregation.RobustFactor)
    {
        _aggregation = aggregation;
        Name = name;
        _experiment = experiment;
        _options = options;
        _auxiliary = auxiliary;
    }

    /// <summary>Creates the family member <paramref name="name"/>, on a copy of <paramref name="options"/> with its loss (balanced softmax or cross entropy) and proximal μ set.</summary>
    /// <param name="name">One of <see cref="FedMas"/>, <see cref="FedAvgCe"/>, <see cref="FedAvgBsm"/>, <see cref="FedProxCe"/>; anything else throws <see cref="ArgumentException"/>.</param>
    /// <param name="experiment">The experiment whose classifier, seed, augmentation and device it uses.</param>
    /// <param name="options">The shared training settings; each method sets its own loss, λ and μ on them.</param>
    /// <param name="proximalMu">FedProx's μ, used by <c>fedprox-ce</c> only (config key <c>fedprox.mu</c>).</param>
    /// <param name="auxiliary">Fed-MAS only, and required for it.</param>
    /// <param name="aggregation">Fed-MAS only: <see cref="FedMasAggregation.Samples"/> isolates its local loss from its aggregation.</param>
    public static ImbalancedClassificationMethod Create(string name, FederatedExperiment experiment, ImbalancedClassifierOptions options,
        double proximalMu, AuxiliaryEncoderFile? auxiliary, FedMasAggregation aggregation = FedMasAggregation.RobustFactor) => name switch
    {
        FedMas => new(name, experiment, options with { BalancedSoftmax = true, ProximalMu = 0 },
            auxiliary ?? throw new ArgumentException("Fed-MAS needs its auxiliary encoder file (fedmas.auxiliary, fedmas.auxiliary-hash).", nameof(auxiliary)),
            aggregation),
        FedAvgCe => new(name, experiment, options with { BalancedSoftmax = false, ProximalMu = 0 }, null),
        FedAvgBsm => new(name, experiment, options with { BalancedSoftmax = true, ProximalMu = 0 }, null),
        FedProxCe => new(name, experiment, options with { BalancedSoftmax = false, ProximalMu = proximalMu }, null),
        _ => throw new ArgumentException($"No imbalanced-classification method named '{name}' (known: {string.Join(", ", Registrations.Select(r => r.Name))}).", nameof(name)),
    };

    /// <summary>The family member's name, as passed to <see cref="Create"/>.</summary>
    public string Name { get; }

    /// <summary>
    /// An <see cref="ImbalancedClassifierLearner"/> seeded for <paramref name="hospitalId"/>; for Fed-MAS it loads the
    /// auxiliary encoder (checking its content hash), which the learner then owns.
    /// </summary>
    /// <param name="hospitalId">The hospital whose learner it is.</param>
    public ILocalLearner CreateClient(string hospitalId)
    {
        var auxiliary = _auxiliary is null ? null
            : AuxiliaryEncoder.Load(_auxiliary.Path, _auxiliary.ContentHash, _experiment.CreateMoCoNetwork, _experiment.Device);
        try
        {
            return new ImbalancedClassifierLearner(_experiment.CreateClassifier, _options, auxiliary, new ViewAugmenter(_experiment.Settings.Augmentation),
                SeededRandom.DeriveSeed(_experiment.Settings.Seed, $"{hospitalId}/learner"), _experiment.Device);
        }
        catch
        {
            auxiliary?.Dispose();
            throw;
        }
    }

    /// <summary>A <see cref="FedMasServer"/> for Fed-MAS, a <see cref="FederatedAveragingServer"/> for the others.</summary>
    public IFederatedServer CreateServer() => _auxiliary is null ? new FederatedAveragingServer(Name) : new FedMasServer(_aggregation);

    /// <summary>The seeded initial small-CNN classifier (both heads), drawn from the experiment seed.</summary>
    public ModelWeights InitialGlobal()
    {
        using var model = TorchRuntime.Seeded(SeededRandom.DeriveSeed(_experiment.Settings.Seed, "global/init"), _experiment.CreateClassifier);
        return ModelWeights.FromModule(model);
    }
}

/// <summary>
/// Fed-MAS's server (ALGORITHMS.md §4, step 5): θ_g = Σ a_i θ_i with a_i = RF_i / Σ_j RF_j over every state entry,
/// batch-norm buffers included. If every robust factor is 0 (no class measured anywhere) there is no evidence to
/// weigh by, and it falls back to sample counts, as FedAvg. Keeps no state across rounds. With
/// <see cref="FedMasAggregation.Samples"/> (ablation) it weighs by sample counts always, the robust factors still checked.
/// </summary>
public sealed class FedMasServer(FedMasAggregation aggregation = FedMasAggregation.RobustFactor) : IFederatedServer
{
    /// <summary>Always <c>fedmas</c>.</summary>
    public string Method => ImbalancedClassificationMethod.FedMas;

    /// <summary>Nothing: Fed-MAS sends the global model only.</summary>
    /// <param name="round">The round (unused).</param>
    /// <param name="hospitalId">The hospital (unused).</param>
    public MethodPayloads Broadcast(int round, string hospitalId) => MethodPayloads.Empty;

    /// <summary>Rejects an upload without a finite, non-negative robust factor scalar (<see cref="ImbalancedClassifierLearner.RobustFactorPayload"/>).</summary>
    /// <param name="round">The round (unused).</param>
    /// <param name="upload">The upload whose extras are checked.</param>
    /// <returns>The reason to reject it, or null.</returns>
    public string? Check(int round, ClientContribution upload)
    {
        if (!upload.Extras.TryGet<ScalarPayload>(ImbalancedClassifierLearner.RobustFactorPayload, out var rf))
            return $"no '{ImbalancedClassifierLearner.RobustFactorPayload}' scalar in the upload";
        return double.IsFinite(rf.Value) && rf.Value >= 0 ? null : $"robust factor {rf.Value} is not a finite non-negative number";
    }

    /// <summary>The weighted mean of the uploads, by robust factor or by sample count (see the class remarks); each upload's robust factor in <see cref="ServerAggregate.ClientFactors"/> either way.</summary>
    /// <param name="round">The round (unused).</param>
    /// <param name="previousGlobal">The previous global (unused: it is replaced).</param>
    /// <param name="accepted">The accepted uploads, at least one, each carrying its robust factor.</param>
    public ServerAggregate Aggregate(int round, ModelWeights previousGlobal, IReadOnlyList<ClientContribution> accepted)
    {
        var factors = accepted.Select(u => u.Extras.Get<ScalarPayload>(ImbalancedClassifierLearner.RobustFactorPayload, u.HospitalId).Value).ToArray();
        var bySamples = aggregation == FedMasAggregation.Samples || !(factors.Sum() > 0);
        return FederatedAveragingServer.Weighted(accepted, bySamples ? accepted.Select(u => (double)u.Samples).ToArray() : factors) with
        {
            ClientFactors = accepted.Select((u, i) => (u.HospitalId, factors[i])).ToDictionary(x => x.HospitalId, x => x.Item2, StringComparer.Ordinal),
        };
    }

    /// <summary>An empty array: Fed-MAS keeps no server state.</summary>
    public byte[] SaveState() => [];

    /// <summary>Accepts only an empty state; throws <see cref="InvalidDataException"/> naming <paramref name="source"/> otherwise.</summary>
    /// <param name="state">The checkpointed server state; must be empty.</param>
    /// <param name="source">Where it came from, for the error message.</param>
    public void LoadState(byte[] state, string source)
    {
        if (state.Length != 0) throw new InvalidDataException($"{source}: Fed-MAS keeps no server state, found {state.Length} bytes; is it another method's checkpoint?");
    }
}
