using FedActors.Training.Data;
using FedActors.Training.Objectives;
using FedActors.Training.Weights;

namespace FedActors.Training.Methods;

/// <summary>
/// A client's side of a federated method beyond plain weight averaging: its local objective is
/// the <see cref="ILocalLearner"/> it is; it also takes the server's broadcast before a round and
/// says what it uploads beside its weights after it. Its <see cref="ILocalLearner.SaveState"/>
/// includes whatever these keep between rounds. A learner that is not one uploads weights only.
/// </summary>
public interface IFederatedClient : ILocalLearner
{
    /// <summary>Called before <see cref="ILocalLearner.LoadGlobal"/> with what the server sent beside the global model.</summary>
    void ReceiveBroadcast(int round, MethodPayloads broadcast);

    /// <summary>Called after <see cref="ILocalLearner.Train"/>: the payloads this round's upload carries beside the weights.</summary>
    MethodPayloads CollectUpload(int round, ImageShard shard);
}

/// <summary>One accepted upload, as the server's aggregation sees it.</summary>
/// <param name="HospitalId">The uploading hospital.</param>
/// <param name="Weights">Its locally trained model weights.</param>
/// <param name="Samples">The number of images it trained on this round (FedAvg's weight).</param>
/// <param name="Extras">What it uploaded beside the weights (<see cref="MethodPayloads.Empty"/> for plain methods).</param>
public sealed record ClientContribution(string HospitalId, ModelWeights Weights, int Samples, MethodPayloads Extras);

/// <summary>A round's new global model and the weight each client's upload got in it (summing to 1).</summary>
/// <param name="Global">The round's new global model.</param>
/// <param name="ClientWeights">Each accepted hospital's weight in <paramref name="Global"/>, by hospital id; the values sum to 1.</param>
public sealed record ServerAggregate(ModelWeights Global, IReadOnlyDictionary<string, double> ClientWeights)
{
    /// <summary>
    /// The figure each weight derives from, by hospital id, where the method has one (Fed-MAS: the robust factor its
    /// client uploaded); null otherwise. Recorded per round beside the weights (aggregation.csv's <c>robust_factor</c>).
    /// </summary>
    public IReadOnlyDictionary<string, double>? ClientFactors { get; init; }
}

/// <summary>
/// A method's server side: what it broadcasts beside the global model, how it checks and
/// aggregates the accepted uploads, and the state it keeps across rounds (checkpointed with
/// the round, so a recovered coordinator continues exactly).
/// </summary>
public interface IFederatedServer
{
    /// <summary>The method's name, as chosen in the experiment config.</summary>
    string Method { get; }

    /// <summary>
    /// What round <paramref name="round"/>'s request to <paramref name="hospitalId"/> carries beside the
    /// global model: the same for every hospital (FedMoCo's site statistics) or its own (FCL sends
    /// each hospital the other sites' features). Asked once per round and hospital selected.
    /// </summary>
    MethodPayloads Broadcast(int round, string hospitalId);

    /// <summary>Why this upload's extras cannot be used (it is then rejected with this reason), or null.</summary>
    string? Check(int round, ClientContribution upload);

    /// <summary>The new global model from the accepted uploads (at least one), ordered by hospital id.</summary>
    ServerAggregate Aggregate(int round, ModelWeights previousGlobal, IReadOnlyList<ClientContribution> accepted);

    /// <summary>Everything the server keeps across rounds, for the coordinator's checkpoint.</summary>
    byte[] SaveState();

    /// <summary>Restores <see cref="SaveState"/>'s bytes; throws <see cref="InvalidDataException"/> naming <paramref name="source"/> if they do not fit.</summary>
    void LoadState(byte[] state, string source);
}

/// <summary>
/// A federated method as the experiment config names it: its client side (the local objective and
/// what a client uploads) for each hospital, and its server side (aggregation and broadcast).
/// </summary>
public interface IFederatedMethod
{
    /// <summary>The method's name, as chosen in the experiment config (e.g. <c>fedmoco</c>); registered in <see cref="MethodRegistry"/>.</summary>
    string Name { get; }

    /// <summary>Hospital <paramref name="hospitalId"/>'s learner; an <see cref="IFederatedClient"/> when it uploads more than weights.</summary>
    ILocalLearner CreateClient(string hospitalId);

    /// <summary>A fresh server side, for each coordinator incarnation (state comes back from the checkpoint).</summary>
    IFederatedServer CreateServer();

    /// <summary>The round-0 global model: what the method federates, drawn from the experiment seed.</summary>
    ModelWeights InitialGlobal();
}

/// <summary>FedAvg's server: the sample-weighted mean of the uploaded weights; broadcasts nothing, keeps nothing.</summary>
/// <param name="method">The name of the method it serves (FedAvg with MoCo clients is "fedmoco-plain").</param>
public sealed class FederatedAveragingServer(string method = FederatedAveragingServer.Name) : IFederatedServer
{
    /// <summary>FedAvg's method name, and the default of <see cref="Method"/>.</summary>
    public const string Name = "fedavg";

    /// <inheritdoc/>
    public string Method => method;

    /// <summary>Nothing: FedAvg sends the global model only.</summary>
    /// <param name="round">The round (unused).</param>
    /// <param name="hospitalId">The hospital (unused).</param>
    /// <returns><see cref="MethodPayloads.Empty"/>.</returns>
    public MethodPayloads Broadcast(int round, string hospitalId) => MethodPayloads.Empty;

    /// <summary>Accepts every upload: FedAvg reads no extras.</summary>
    /// <param name="round">The round (unused).</param>
    /// <param name="upload">The upload (unused).</param>
    /// <returns>Always null.</returns>
    public string? Check(int round, ClientContribution upload) => null;

    /// <summary>The mean of the uploaded weights, each weighted by its <see cref="ClientContribution.Samples"/>.</summary>
    /// <param name="round">The round (unused).</param>
    /// <param name="previousGlobal">The previous global (unused: FedAvg replaces it).</param>
    /// <param name="accepted">The accepted uploads, at least one.</param>
    public ServerAggregate Aggregate(int round, ModelWeights previousGlobal, IReadOnlyList<ClientContribution> accepted) =>
        Weighted(accepted, accepted.Select(u => (double)u.Samples).ToArray());

    /// <summary>
    /// Σ a_i θ_i with a_i = w_i / Σ w_j (<paramref name="weights"/> in <paramref name="accepted"/>'s order, not
    /// necessarily normalised), for servers that only choose the weights.
    /// </summary>
    public static ServerAggregate Weighted(IReadOnlyList<ClientContribution> accepted, IReadOnlyList<double> weights)
    {
        if (accepted.Count == 0) throw new ArgumentException("Aggregation needs at least one upload.");
        if (weights.Count != accepted.Count) throw new ArgumentException($"{weights.Count} weights for {accepted.Count} uploads.");
        var global = Aggregation.FederatedAveraging.WeightedMean(
            accepted.Select((u, i) => new Aggregation.WeightedContribution(u.HospitalId, u.Weights, weights[i])).ToList());
        var total = weights.Sum();
        return new ServerAggregate(global, accepted.Select((u, i) => KeyValuePair.Create(u.HospitalId, weights[i] / total))
            .ToDictionary(StringComparer.Ordinal));
    }

    /// <summary>An empty array: FedAvg keeps no server state.</summary>
    public byte[] SaveState() => [];

    /// <summary>Accepts only an empty state; throws <see cref="InvalidDataException"/> naming <paramref name="source"/> otherwise (another method's checkpoint).</summary>
    /// <param name="state">The checkpointed server state; must be empty.</param>
    /// <param name="source">Where it came from, for the error message.</param>
    public void LoadState(byte[] state, string source)
    {
        if (state.Length != 0) throw new InvalidDataException($"{source}: FedAvg keeps no server state, found {state.Length} bytes; is it another method's checkpoint?");
    }
}
