using FedActors.Training.Experiments;
using FedActors.Training.Objectives;
using FedActors.Training.Randomness;

namespace FedActors.Training.Methods.FedMoCo;

/// <summary>FedMoCo (ALGORITHMS.md §1) on an experiment's hospitals: MoCo v2 clients with its modules, its server.</summary>
public sealed class FedMoCoMethod(FederatedMoCoExperiment experiment, FedMoCoOptions options) : IFederatedMethod
{
    public string Name => FedMoCoServer.Name;

    public ILocalLearner CreateClient(string hospitalId) =>
        new FedMoCoClient((MoCoV2Learner)experiment.CreateLearner(hospitalId), experiment.CreateNetwork, hospitalId, options,
            SeededRandom.DeriveSeed(experiment.Settings.Seed, $"{hospitalId}/fedmoco"));

    public IFederatedServer CreateServer() => new FedMoCoServer(options);

    public Weights.ModelWeights InitialGlobal() => experiment.InitialGlobal();
}

/// <summary>FedMoCo-plain: MoCo v2 clients and FedAvg, no FedMoCo module (the baseline FedMoCo must beat).</summary>
public sealed class FedMoCoPlainMethod(FederatedMoCoExperiment experiment) : IFederatedMethod
{
    public const string MethodName = "fedmoco-plain";

    public string Name => MethodName;

    public ILocalLearner CreateClient(string hospitalId) => experiment.CreateLearner(hospitalId);

    public IFederatedServer CreateServer() => new FederatedAveragingServer(MethodName);

    public Weights.ModelWeights InitialGlobal() => experiment.InitialGlobal();
}
