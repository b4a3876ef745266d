using FedActors.Training.Augmentations;
using FedActors.Training.Experiments;
using FedActors.Training.Models;
using FedActors.Training.Objectives;
using FedActors.Training.Randomness;
using FedActors.Training.Weights;

namespace FedActors.Training.Methods;

/// <summary>Where Fed-MAS's frozen auxiliary encoder is, and the content hash every hospital checks it against.</summary>
public sealed record AuxiliaryEncoderFile(string Path, string ContentHash);

/// <summary>How the Fed-MAS server weighs uploads: by robust factor (the method), or by sample count (an ablation that keeps its local loss).</summary>
public enum FedMasAggregation
{
    RobustFactor,
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
/// Judged by the global model's balanced accuracy (<see cref="FederatedMoCoExperiment.EvaluateClassifier"/>).
/// </summary>
public sealed class ImbalancedClassificationMethod : IFederatedMethod
{
    public const string FedMas = "fedmas", FedAvgCe = "fedavg-ce", FedAvgBsm = "fedavg-bsm", FedProxCe = "fedprox-ce";
    public static readonly string[] Names = [FedMas, FedAvgCe, FedAvgBsm, FedProxCe];

    private readonly FederatedMoCoExperiment _experiment;
    private readonly ImbalancedClassifierOptions _options;
    private readonly AuxiliaryEncoderFile? _auxiliary;
    private readonly FedMasAggregation _aggregation;

    private ImbalancedClassificationMethod(string name, FederatedMoCoExperiment experiment, ImbalancedClassifierOptions options, AuxiliaryEncoderFile? auxiliary,
        FedMasAggregation aggregation = FedMasAggregation.RobustFactor)
    {
        _aggregation = aggregation;
        Name = name;
        _experiment = experiment;
        _options = options;
        _auxiliary = auxiliary;
    }

    /// <param name="options">The shared training settings; each method sets its own loss, λ and μ on them.</param>
    /// <param name="auxiliary">Fed-MAS only, and required for it.</param>
    /// <param name="aggregation">Fed-MAS only: <see cref="FedMasAggregation.Samples"/> isolates its local loss from its aggregation.</param>
    public static ImbalancedClassificationMethod Create(string name, FederatedMoCoExperiment experiment, ImbalancedClassifierOptions options,
        double proximalMu, AuxiliaryEncoderFile? auxiliary, FedMasAggregation aggregation = FedMasAggregation.RobustFactor) => name switch
    {
        FedMas => new(name, experiment, options with { BalancedSoftmax = true, ProximalMu = 0 },
            auxiliary ?? throw new ArgumentException("Fed-MAS needs its auxiliary encoder file (fedmas.auxiliary, fedmas.auxiliary-hash).", nameof(auxiliary)),
            aggregation),
        FedAvgCe => new(name, experiment, options with { BalancedSoftmax = false, ProximalMu = 0 }, null),
        FedAvgBsm => new(name, experiment, options with { BalancedSoftmax = true, ProximalMu = 0 }, null),
        FedProxCe => new(name, experiment, options with { BalancedSoftmax = false, ProximalMu = proximalMu }, null),
        _ => throw new ArgumentException($"No imbalanced-classification method named '{name}' (known: {string.Join(", ", Names)}).", nameof(name)),
    };

    public string Name { get; }

    public ILocalLearner CreateClient(string hospitalId)
    {
        var auxiliary = _auxiliary is null ? null
            : AuxiliaryEncoder.Load(_auxiliary.Path, _auxiliary.ContentHash, _experiment.CreateNetwork, _experiment.Device);
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

    public IFederatedServer CreateServer() => _auxiliary is null ? new FederatedAveragingServer(Name) : new FedMasServer(_aggregation);

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
    public string Method => ImbalancedClassificationMethod.FedMas;

    public MethodPayloads Broadcast(int round, string hospitalId) => MethodPayloads.Empty;

    public string? Check(int round, ClientContribution upload)
    {
        if (!upload.Extras.TryGet<ScalarPayload>(ImbalancedClassifierLearner.RobustFactorPayload, out var rf))
            return $"no '{ImbalancedClassifierLearner.RobustFactorPayload}' scalar in the upload";
        return double.IsFinite(rf.Value) && rf.Value >= 0 ? null : $"robust factor {rf.Value} is not a finite non-negative number";
    }

    public ServerAggregate Aggregate(int round, ModelWeights previousGlobal, IReadOnlyList<ClientContribution> accepted)
    {
        var factors = accepted.Select(u => u.Extras.Get<ScalarPayload>(ImbalancedClassifierLearner.RobustFactorPayload, u.HospitalId).Value).ToArray();
        var bySamples = aggregation == FedMasAggregation.Samples || !(factors.Sum() > 0);
        return FederatedAveragingServer.Weighted(accepted, bySamples ? accepted.Select(u => (double)u.Samples).ToArray() : factors);
    }

    public byte[] SaveState() => [];

    public void LoadState(byte[] state, string source)
    {
        if (state.Length != 0) throw new InvalidDataException($"{source}: Fed-MAS keeps no server state, found {state.Length} bytes; is it another method's checkpoint?");
    }
}
