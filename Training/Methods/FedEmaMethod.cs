using FedActors.Training.Aggregation;
using FedActors.Training.Data;
using FedActors.Training.Experiments;
using FedActors.Training.Objectives;
using FedActors.Training.Weights;
using static TorchSharp.torch;

namespace FedActors.Training.Methods;

/// <summary>
/// FedEMA's client update (ALGORITHMS.md §5) around any learner: a client that has trained before
/// does not take the global model as it is but moves towards it, θ_i ← μ·θ_i + (1 − μ)·θ_g with
/// μ = min(λ‖θ_g − θ_i‖, 1), so the further the global has drifted from it, the more of its own
/// model it keeps. A client's first round starts from the global.
/// </summary>
public sealed class FedEmaClient(ILocalLearner learner, double lambda) : ILocalLearner
{
    /// <summary>μ of the last <see cref="LoadGlobal"/> (0 when the global was taken as it is).</summary>
    public double LastMu { get; private set; }

    public void LoadGlobal(ModelWeights global)
    {
        if (learner.DescribeState().OptimizerSteps == 0)
        {
            LastMu = 0;
            learner.LoadGlobal(global);
            return;
        }
        var local = learner.ExportWeights();
        LastMu = Math.Min(lambda * global.DistanceTo(local), 1);
        learner.LoadGlobal(FederatedAveraging.WeightedMean([new("local", local, LastMu), new("global", global, 1 - LastMu)]));
    }

    public LocalTrainingResult Train(ImageShard shard) => learner.Train(shard);
    public ModelWeights ExportWeights() => learner.ExportWeights();
    public LocalStateSummary DescribeState() => learner.DescribeState();
    public void SaveState(Stream stream) => learner.SaveState(stream);
    public void LoadState(Stream stream, string source) => learner.LoadState(stream, source);
    public void MoveTo(Device device) => learner.MoveTo(device);
    public void Dispose() => learner.Dispose();
}

/// <summary>FedEMA with MoCo v2 clients and FedAvg on the server (ALGORITHMS.md §5; the paper pairs it with BYOL, not implemented yet).</summary>
public sealed class FedEmaMethod(FederatedMoCoExperiment experiment, double lambda) : IFederatedMethod
{
    public const string MethodName = "fedema";

    public string Name => MethodName;

    public ILocalLearner CreateClient(string hospitalId) => new FedEmaClient(experiment.CreateLearner(hospitalId), lambda);

    public IFederatedServer CreateServer() => new FederatedAveragingServer(MethodName);

    public ModelWeights InitialGlobal() => experiment.InitialGlobal();
}
