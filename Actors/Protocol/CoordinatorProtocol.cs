using Akka.Actor;
using FedActors.Training.Weights;

namespace FedActors.Actors.Protocol;

/// <summary>
/// Starts the configured rounds, or continues them from the coordinator's last round snapshot
/// (a resumed run); <see cref="RunCompleted"/> goes to the sender and the listeners.
/// </summary>
public sealed record StartRun : IFedActorsMessage
{
    public static StartRun Instance { get; } = new();
}

/// <summary>What happened in one round, as recorded in metrics.</summary>
/// <param name="Traffic">Bytes per hospital, direction and payload kind (what <paramref name="BytesDown"/> and <paramref name="BytesUp"/> add up).</param>
/// <param name="AggregationWeights">The weight each aggregated upload got (summing to 1); empty when the round was skipped.</param>
/// <param name="Dropped">Selected hospitals whose update is not in the aggregate (dropped, lost, late, rejected or surplus).</param>
/// <param name="SimulatedSeconds">The round's length on the simulated clock.</param>
/// <param name="SimulatedClock">The simulated clock when the round closed.</param>
/// <param name="Attempts">Selections the round made (more than one when it retried for too few updates).</param>
public sealed record RoundSummary(
    int Round,
    IReadOnlyList<string> Selected,
    IReadOnlyList<string> Aggregated,
    IReadOnlyList<string> Dropped,
    double MeanLoss,
    long BytesDown,
    long BytesUp,
    double WallSeconds,
    int LateReplies,
    int RejectedReplies,
    bool Skipped,
    string GlobalHash,
    IReadOnlyDictionary<string, double> Evaluation,
    double SimulatedSeconds = 0,
    double SimulatedClock = 0,
    int DuplicateReplies = 0,
    int Attempts = 1,
    IReadOnlyList<ClientTraffic>? Traffic = null,
    IReadOnlyDictionary<string, double>? AggregationWeights = null);

/// <summary>
/// Bytes of one payload kind (<see cref="Training.Methods.PayloadKinds"/>) that went to
/// (<see cref="Down"/>) or came from (<see cref="Up"/>) one hospital in one round.
/// </summary>
public sealed record ClientTraffic(string HospitalId, string Direction, string Kind, long Bytes)
{
    public const string Down = "down", Up = "up";
}

/// <summary>
/// Published to the run listeners as the open round's participants settle, for live progress
/// displays (not an event: nothing of it is written to <c>events.jsonl</c>). <paramref name="Training"/>
/// hospitals have been asked and not yet answered; <paramref name="Dropped"/> counts every way of not
/// being aggregated (dropped, lost, late, rejected).
/// </summary>
public sealed record RoundProgress(int Round, int Attempt, int Selected, int Training, int Accepted, int Dropped) : IFedActorsMessage;

/// <summary>Published to the run listener each time a round closes.</summary>
public sealed record RoundClosed(RoundSummary Summary) : IFedActorsMessage;

/// <summary>The run's outcome: the final global model and every round's summary.</summary>
public sealed record RunCompleted(ModelWeights FinalGlobal, IReadOnlyList<RoundSummary> Rounds) : IFedActorsMessage;

/// <summary>Registers the actor that receives <see cref="RoundClosed"/>, <see cref="RunEvent"/> and <see cref="RunCompleted"/>.</summary>
public sealed record SubscribeToRun(IActorRef Listener) : IFedActorsMessage;

/// <summary>
/// Registers an actor on the coordinator's own node for the global model after every closed round
/// (<see cref="GlobalAfterRound"/>), e.g. to write checkpoints. Local only: a model is not sent over
/// the network this way (between nodes weights travel by reference).
/// </summary>
public sealed record SubscribeToGlobals(IActorRef Listener) : INoSerializationVerificationNeeded;

/// <summary>The global model as round <paramref name="Round"/> left it (unchanged if the round was skipped).</summary>
public sealed record GlobalAfterRound(int Round, ModelWeights Global) : INoSerializationVerificationNeeded;

/// <summary>
/// One line of a run's <c>events.jsonl</c>: a hospital selected, its update accepted, dropped,
/// lost, late, rejected, duplicated or surplus, a fault that fired, a retry, a skipped round,
/// a crash and a recovery. <paramref name="HospitalId"/> is null for events of the whole round.
/// </summary>
/// <param name="SimulatedSeconds">When it happened on the simulated clock.</param>
public sealed record RunEvent(int Round, int Attempt, string Kind, string? HospitalId, string Reason, double SimulatedSeconds) : IFedActorsMessage;

/// <summary>The kinds of <see cref="RunEvent"/>.</summary>
public static class RunEventKinds
{
    public const string Selected = "selected";
    public const string Accepted = "accepted";
    /// <summary>Over-selection: on time, but not among the first k to finish.</summary>
    public const string Surplus = "surplus";
    public const string Dropped = "dropped";
    /// <summary>A message lost in transit (request or upload).</summary>
    public const string Lost = "lost";
    /// <summary>After the simulated deadline, or for a round already closed.</summary>
    public const string Late = "late";
    public const string Duplicate = "duplicate";
    public const string Rejected = "rejected";
    public const string Slowed = "slowed";
    public const string Delayed = "delayed";
    /// <summary>Cluster mode: an upload's weights could not be fetched from its node; the hospital is asked again.</summary>
    public const string FetchFailed = "fetch-failed";
    public const string Retry = "retry";
    public const string RoundSkipped = "round-skipped";
    public const string RoundClosed = "round-closed";
    public const string WorkerCrash = "worker-crash";
    public const string CoordinatorCrash = "coordinator-crash";
    public const string CoordinatorRecovered = "coordinator-recovered";
}

/// <summary>
/// What the coordinator snapshots after every round (Akka.Persistence, not sent between actors):
/// enough to continue the run from the next round after a crash. Selection, faults and client
/// seeds are drawn from generators derived from (seed, round, hospital), so no generator state
/// needs saving beyond the round number.
/// </summary>
/// <param name="MethodState">The method server's state (<see cref="Training.Methods.IFederatedServer.SaveState"/>).</param>
public sealed record CoordinatorSnapshot(
    int CompletedRound, ModelWeights Global, double SimulatedClock, IReadOnlyList<RoundSummary> History, string Method, byte[] MethodState)
    : IFedActorsMessage;

/// <summary>Coordinator → a worker's <c>NodeFaultAgent</c>: the fault plan's scripted crash of that node.</summary>
public sealed record CrashNode(string Node, int Round) : IFedActorsMessage;
