using FedActors.Training.Experiments;
using FedActors.Training.Objectives;
using FedActors.Training.Weights;

namespace FedActors.Training.Methods;

/// <summary>
/// FedProx (ALGORITHMS.md §5) with MoCo v2 clients: each local step's loss gains μ/2·‖θ − θ_g‖²,
/// pulling a client towards the round's global; FedAvg on the server. μ = 0 is FedMoCo-plain.
/// </summary>
public sealed class FedProxMethod(FederatedMoCoExperiment experiment, double mu) : IFederatedMethod
{
    public const string MethodName = "fedprox";

    public string Name => MethodName;

    public ILocalLearner CreateClient(string hospitalId)
    {
        var learner = (MoCoV2Learner)experiment.CreateLearner(hospitalId);
        learner.ProximalMu = mu;
        return learner;
    }

    public IFederatedServer CreateServer() => new FederatedAveragingServer(MethodName);

    public ModelWeights InitialGlobal() => experiment.InitialGlobal();
}
