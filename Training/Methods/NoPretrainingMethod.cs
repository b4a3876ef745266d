using FedActors.Training.Data;
using FedActors.Training.Experiments;
using FedActors.Training.Objectives;
using FedActors.Training.Weights;
using static TorchSharp.torch;

namespace FedActors.Training.Methods;

/// <summary>
/// The "random init" baseline (ALGORITHMS.md §2's tables): no pre-training at all. Hospitals take part
/// in the rounds but train nothing, so the global stays the seeded initial network and the downstream
/// evaluation judges a randomly initialised encoder under exactly the other methods' protocol.
/// </summary>
public sealed class NoPretrainingMethod(FederatedExperiment experiment) : IFederatedMethod
{
    /// <summary>The config name, <c>none</c>.</summary>
    public const string MethodName = "none";

    /// <summary>The random-init baseline.</summary>
    public static MethodRegistration Registration { get; } = new(MethodName, "no pre-training: the random-init baseline",
        (experiment, _) => new NoPretrainingMethod(experiment));

    /// <inheritdoc/>
    public string Name => MethodName;

    /// <summary>A learner that trains nothing: it holds the global it is given and uploads it unchanged (zero steps, loss 0).</summary>
    /// <param name="hospitalId">The hospital (unused: every hospital gets the same idle learner).</param>
    public ILocalLearner CreateClient(string hospitalId) => new IdleLearner();

    /// <summary>A <see cref="FederatedAveragingServer"/> under the name <c>none</c>.</summary>
    public IFederatedServer CreateServer() => new FederatedAveragingServer(MethodName);

    /// <summary>The experiment's seeded initial network (<see cref="FederatedExperiment.InitialGlobal"/>), which stays the global throughout.</summary>
    public ModelWeights InitialGlobal() => experiment.InitialGlobal();

    /// <summary>Holds the global it is given and returns it untouched: zero steps, loss 0.</summary>
    private sealed class IdleLearner : ILocalLearner
    {
        private ModelWeights? _weights;

        public void LoadGlobal(ModelWeights global) => _weights = global;
        public LocalTrainingResult Train(ImageShard shard) => new(0, 0, shard.Count);
        public ModelWeights ExportWeights() => _weights ?? throw new InvalidOperationException("No global model loaded yet.");
        public LocalStateSummary DescribeState() => new(0, 0, "", "", [0, 0, 0, 0]);
        public void SaveState(Stream stream) => LearnerStateFormat.Write(stream, MethodName, _ => { });
        public void LoadState(Stream stream, string source) => LearnerStateFormat.Read(stream, source, MethodName, _ => { });
        public void MoveTo(Device device) { }
        public void Dispose() { }
    }
}
