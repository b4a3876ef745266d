using FedActors.Training.Experiments;
using FedActors.Training.Objectives;
using FedActors.Training.Weights;

namespace FedActors.Training.Methods.Fcl;

/// <summary>A server that keeps every hospital's latest uploaded model, for evaluating each on its own (Local CL).</summary>
public interface IKeepsLocalModels
{
    IReadOnlyDictionary<string, ModelWeights> LocalModels { get; }
}

/// <summary>
/// A hospital that takes the global model once, its first round (the shared seeded start), and from then
/// on keeps training its own: nothing it learns comes from the others.
/// </summary>
public sealed class LocalOnlyClient(ILocalLearner learner) : LearnerClient<ILocalLearner>(learner)
{
    public override void LoadGlobal(ModelWeights global)
    {
        if (Learner.DescribeState().OptimizerSteps == 0) Learner.LoadGlobal(global);
    }
}

/// <summary>
/// Keeps each hospital's latest upload (in its checkpointed state too) and averages them into the
/// round's global, which only the per-round probe looks at: no hospital takes it.
/// </summary>
public sealed class LocalModelsServer(string method) : IFederatedServer, IKeepsLocalModels
{
    private readonly SortedDictionary<string, ModelWeights> _latest = new(StringComparer.Ordinal);

    public string Method => method;

    public IReadOnlyDictionary<string, ModelWeights> LocalModels => _latest;

    public MethodPayloads Broadcast(int round, string hospitalId) => MethodPayloads.Empty;

    public string? Check(int round, ClientContribution upload) => null;

    public ServerAggregate Aggregate(int round, ModelWeights previousGlobal, IReadOnlyList<ClientContribution> accepted)
    {
        foreach (var u in accepted) _latest[u.HospitalId] = u.Weights;
        return FederatedAveragingServer.Weighted(accepted, accepted.Select(u => (double)u.Samples).ToList());
    }

    public byte[] SaveState()
    {
        using var buffer = new MemoryStream();
        using (var w = new BinaryWriter(buffer))
            PayloadFormat.Write(w, new MethodPayloads(_latest.Select(l => KeyValuePair.Create(l.Key, (Payload)new TargetWeightsPayload(l.Value)))));
        return buffer.ToArray();
    }

    public void LoadState(byte[] state, string source)
    {
        using var r = new BinaryReader(new MemoryStream(state, writable: false));
        var saved = PayloadFormat.Read(r, source);
        if (r.BaseStream.Position != state.Length) throw new InvalidDataException($"{source}: {state.Length - r.BaseStream.Position} bytes left over.");
        _latest.Clear();
        foreach (var (hospital, payload) in saved.Parts)
            _latest[hospital] = (payload as TargetWeightsPayload)?.Weights ?? throw new InvalidDataException($"{source}: entry '{hospital}' is {payload.Kind}, not a model.");
    }
}

/// <summary>
/// Local CL, the FCL paper's baseline (ALGORITHMS.md §2): every hospital pre-trains alone with FCL's
/// local objective (partition positives, its own bank, no remote features), and is judged with its own
/// encoder. Its rounds still move the weights: the simulator collects each hospital's model to judge
/// it; that traffic is not a cost of the method.
/// </summary>
public sealed class LocalClMethod(FederatedExperiment experiment, FclOptions options) : IFederatedMethod
{
    public const string MethodName = "local-cl";

    /// <summary>Local CL on volumes, with FCL's keys.</summary>
    public static MethodRegistration Registration { get; } = new(MethodName,
        "FCL's local objective, each hospital alone, judged with its own model (ALGORITHMS.md §2)",
        (experiment, settings) => new LocalClMethod(experiment, FclMethod.OptionsOf(experiment, settings)))
    {
        Keys = FclMethod.SharedKeys,
        Data = MethodData.Volumes,
    };

    public string Name => MethodName;

    public ILocalLearner CreateClient(string hospitalId) => new LocalOnlyClient(FclMethod.CreateLearner(experiment, options, hospitalId));

    public IFederatedServer CreateServer() => new LocalModelsServer(MethodName);

    public ModelWeights InitialGlobal() => experiment.InitialGlobal();
}
