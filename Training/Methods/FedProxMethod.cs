using FedActors.Training.Experiments;
using FedActors.Training.Objectives;
using FedActors.Training.Weights;

namespace FedActors.Training.Methods;

/// <summary>
/// FedProx (ALGORITHMS.md §5) with MoCo v2 clients: each local step's loss gains μ/2·‖θ − θ_g‖²,
/// pulling a client towards the round's global; FedAvg on the server. μ = 0 is FedMoCo-plain.
/// </summary>
public sealed class FedProxMethod(FederatedExperiment experiment, double mu) : IFederatedMethod
{
    /// <summary>The config name, <c>fedprox</c>.</summary>
    public const string MethodName = "fedprox";

    /// <summary>μ of the proximal term; <c>fedprox-ce</c> reads it too.</summary>
    public static readonly NumberKey Mu = new("fedprox.mu", 0.01, 0, 1e6,
        "local loss + mu/2 * ||params - global||^2; keep moco.learning-rate * mu below 2, or the proximal step diverges");

    /// <summary>FedProx with MoCo v2 clients.</summary>
    public static MethodRegistration Registration { get; } = new(MethodName, "MoCo v2 clients with a proximal term, FedAvg (ALGORITHMS.md §5)",
        (experiment, settings) => new FedProxMethod(experiment, settings.Get(Mu))) { Keys = [Mu] };

    /// <inheritdoc/>
    public string Name => MethodName;

    /// <summary>The experiment's MoCo v2 learner for <paramref name="hospitalId"/> with its proximal μ set.</summary>
    /// <param name="hospitalId">The hospital whose learner it is.</param>
    public ILocalLearner CreateClient(string hospitalId)
    {
        var learner = (MoCoV2Learner)experiment.CreateLearner(hospitalId);
        learner.ProximalMu = mu;
        return learner;
    }

    /// <summary>A <see cref="FederatedAveragingServer"/> under the name <c>fedprox</c>.</summary>
    public IFederatedServer CreateServer() => new FederatedAveragingServer(MethodName);

    /// <summary>The experiment's seeded initial MoCo v2 network (<see cref="FederatedExperiment.InitialMoCoGlobal"/>).</summary>
    public ModelWeights InitialGlobal() => experiment.InitialMoCoGlobal();
}
