using FedActors.Training.Experiments;
using FedActors.Training.Objectives;
using FedActors.Training.Weights;

namespace FedActors.Training.Methods.Fcl;

/// <summary>A server that keeps every hospital's latest uploaded model, for evaluating each on its own (Local CL).</summary>
public interface IKeepsLocalModels
{
    /// <summary>
    /// Each hospital's latest accepted upload, by hospital id (ordinal order); a hospital appears once its
    /// first upload is aggregated. Evaluation judges each hospital with its own entry.
    /// </summary>
    IReadOnlyDictionary<string, ModelWeights> LocalModels { get; }
}

/// <summary>
/// A hospital that takes the global model once, its first round (the shared seeded start), and from then
/// on keeps training its own: nothing it learns comes from the others.
/// </summary>
public sealed class LocalOnlyClient(ILocalLearner learner) : LearnerClient<ILocalLearner>(learner)
{
    /// <summary>
    /// Takes <paramref name="global"/> only while the learner has taken no optimiser step (its first round);
    /// afterwards ignores it and keeps its own model.
    /// </summary>
    /// <param name="global">The round's global model.</param>
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

    /// <inheritdoc/>
    public string Method => method;

    /// <summary>
    /// Each hospital's latest accepted upload, by hospital id (ordinal order): a live view that
    /// <see cref="Aggregate"/> and <see cref="LoadState"/> change, not a copy.
    /// </summary>
    public IReadOnlyDictionary<string, ModelWeights> LocalModels => _latest;

    /// <summary>Nothing: Local CL sends no extras (its hospitals ignore the global after their first round anyway).</summary>
    /// <param name="round">The round (unused).</param>
    /// <param name="hospitalId">The hospital (unused).</param>
    /// <returns><see cref="MethodPayloads.Empty"/>.</returns>
    public MethodPayloads Broadcast(int round, string hospitalId) => MethodPayloads.Empty;

    /// <summary>Accepts every upload: Local CL reads no extras.</summary>
    /// <param name="round">The round (unused).</param>
    /// <param name="upload">The upload (unused).</param>
    /// <returns>Always null.</returns>
    public string? Check(int round, ClientContribution upload) => null;

    /// <summary>
    /// Records each accepted upload as its hospital's latest model, and returns their sample-weighted mean
    /// (FedAvg) as the round's global, which only the per-round probe uses.
    /// </summary>
    /// <param name="round">The round (unused).</param>
    /// <param name="previousGlobal">The previous global (unused).</param>
    /// <param name="accepted">The accepted uploads, at least one.</param>
    public ServerAggregate Aggregate(int round, ModelWeights previousGlobal, IReadOnlyList<ClientContribution> accepted)
    {
        foreach (var u in accepted) _latest[u.HospitalId] = u.Weights;
        return FederatedAveragingServer.Weighted(accepted, accepted.Select(u => (double)u.Samples).ToList());
    }

    /// <summary>Every hospital's latest model (<see cref="LocalModels"/>), in the payload format, for the coordinator's checkpoint.</summary>
    public byte[] SaveState()
    {
        using var buffer = new MemoryStream();
        using (var w = new BinaryWriter(buffer))
            PayloadFormat.Write(w, new MethodPayloads(_latest.Select(l => KeyValuePair.Create(l.Key, (Payload)new TargetWeightsPayload(l.Value)))));
        return buffer.ToArray();
    }

    /// <summary>
    /// Replaces <see cref="LocalModels"/> with those in <see cref="SaveState"/>'s bytes; throws
    /// <see cref="InvalidDataException"/> naming <paramref name="source"/> on leftover bytes or an entry that is not a model.
    /// </summary>
    /// <param name="state">Bytes written by <see cref="SaveState"/>.</param>
    /// <param name="source">Where the bytes came from, for error messages.</param>
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
    /// <summary>Local CL's name in the experiment config (<c>local-cl</c>).</summary>
    public const string MethodName = "local-cl";

    /// <summary>Local CL on volumes, with FCL's keys.</summary>
    public static MethodRegistration Registration { get; } = new(MethodName,
        "FCL's local objective, each hospital alone, judged with its own model (ALGORITHMS.md §2)",
        (experiment, settings) => new LocalClMethod(experiment, FclMethod.OptionsOf(experiment, settings)))
    {
        Keys = FclMethod.SharedKeys,
        Data = MethodData.Volumes,
    };

    /// <inheritdoc/>
    public string Name => MethodName;

    /// <summary>
    /// Hospital <paramref name="hospitalId"/>'s <see cref="LocalOnlyClient"/> around an FCL learner seeded from the
    /// experiment (its own bank, no remote features); the caller owns it.
    /// </summary>
    /// <param name="hospitalId">The hospital.</param>
    public ILocalLearner CreateClient(string hospitalId) => new LocalOnlyClient(FclMethod.CreateLearner(experiment, options, hospitalId));

    /// <summary>A fresh <see cref="LocalModelsServer"/>, which keeps each hospital's latest model.</summary>
    public IFederatedServer CreateServer() => new LocalModelsServer(MethodName);

    /// <summary>The experiment's seeded round-0 model, the shared start every hospital takes in its first round.</summary>
    public ModelWeights InitialGlobal() => experiment.InitialGlobal();
}
