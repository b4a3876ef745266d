using Akka.Actor;
using FedActors.Training.Weights;

namespace FedActors.Actors.Protocol;

/// <summary>
/// Starts the configured rounds, or continues them from the coordinator's last round snapshot
/// (a resumed run); <see cref="RunCompleted"/> goes to the sender and the listeners.
/// </summary>
public sealed record StartRun : IFedActorsMessage
{
    /// <summary>The single instance to send.</summary>
    public static StartRun Instance { get; } = new();
}

/// <summary>
/// What happened in one round, as recorded in metrics. Every selected hospital ends in exactly one of
/// <see cref="Accepted"/>, <see cref="Dropped"/>, <see cref="Lost"/>, <see cref="Late"/>, <see cref="Rejected"/>
/// and <see cref="Surplus"/> (each sorted by id), and each has its <see cref="RunEvent"/> of that kind in the round.
/// Replies that belong to no selected hospital's outcome are counted apart: <see cref="StaleReplies"/>,
/// <see cref="UnexpectedReplies"/>, <see cref="DuplicateReplies"/>, each matching the round's events of that kind.
/// </summary>
public sealed record RoundSummary
{
    /// <summary>The round, from 1.</summary>
    public required int Round { get; init; }
    /// <summary>Every hospital selected in any attempt of the round, by id.</summary>
    public required IReadOnlyList<string> Selected { get; init; }
    /// <summary>Selected hospitals whose update arrived on time and passed every check (aggregated unless the round was skipped).</summary>
    public IReadOnlyList<string> Accepted { get; init; } = [];
    /// <summary>Hospitals whose update is in the new global model, by id: <see cref="Accepted"/>, or none when <see cref="Skipped"/>.</summary>
    public IReadOnlyList<string> Aggregated { get; init; } = [];
    /// <summary>Selected hospitals that failed and sent nothing usable (an injected drop, the wall-clock timeout, offline on the trace).</summary>
    public IReadOnlyList<string> Dropped { get; init; } = [];
    /// <summary>Selected hospitals whose request or upload was lost in transit.</summary>
    public IReadOnlyList<string> Lost { get; init; } = [];
    /// <summary>Selected hospitals whose update arrived after the simulated deadline.</summary>
    public IReadOnlyList<string> Late { get; init; } = [];
    /// <summary>Selected hospitals whose update failed a check.</summary>
    public IReadOnlyList<string> Rejected { get; init; } = [];
    /// <summary>Selected hospitals on time but not among the first k to finish (over-selection).</summary>
    public IReadOnlyList<string> Surplus { get; init; } = [];
    /// <summary>Sample-weighted mean local loss of the accepted updates; NaN when none.</summary>
    public double MeanLoss { get; init; } = double.NaN;
    /// <summary>Bytes sent to hospitals this round: the global model and the method's broadcast.</summary>
    public long BytesDown { get; init; }
    /// <summary>Bytes of the updates received this round.</summary>
    public long BytesUp { get; init; }
    /// <summary>Wall-clock seconds from the round's start to its close.</summary>
    public double WallSeconds { get; init; }
    /// <summary>Updates for a round that had already closed, received while this round was open or about to open.</summary>
    public int StaleReplies { get; init; }
    /// <summary>Updates from hospitals not asked for one (not selected, or for a round not yet open).</summary>
    public int UnexpectedReplies { get; init; }
    /// <summary>Second updates from a hospital that already had an outcome (often the answer to a resent request).</summary>
    public int DuplicateReplies { get; init; }
    /// <summary>Worker nodes that joined the cluster while this round was open or about to open (events <c>node-joined</c>).</summary>
    public int NodesJoined { get; init; }
    /// <summary>Worker nodes that left or were downed while this round was open or about to open (events <c>node-lost</c>).</summary>
    public int NodesLost { get; init; }
    /// <summary>Hospitals whose update came from another node than their previous one: moved by a crash or a rebalance (events <c>hospital-moved</c>).</summary>
    public int HospitalsMoved { get; init; }
    /// <summary>Hospitals that restarted and restored their state from a snapshot before answering (events <c>hospital-restored</c>; passivation's planned restores are not counted).</summary>
    public int HospitalsRestored { get; init; }
    /// <summary>
    /// ε of client-level differential privacy spent by the run up to and including this round, at the run's δ
    /// (<see cref="Rounds.ClientPrivacy"/>); 0 when privacy is off.
    /// </summary>
    public double PrivacyEpsilon { get; init; }
    /// <summary>Too few updates were accepted: the global model was kept.</summary>
    public bool Skipped { get; init; }
    /// <summary>The content hash of the global model the round left.</summary>
    public required string GlobalHash { get; init; }
    /// <summary>Figures of the global model's evaluation, where the round evaluated.</summary>
    public IReadOnlyDictionary<string, double> Evaluation { get; init; } = new Dictionary<string, double>();
    /// <summary>The round's length on the simulated clock.</summary>
    public double SimulatedSeconds { get; init; }
    /// <summary>The simulated clock when the round closed.</summary>
    public double SimulatedClock { get; init; }
    /// <summary>Selections the round made (more than one when it retried for too few updates).</summary>
    public int Attempts { get; init; } = 1;
    /// <summary>Local optimiser steps of the accepted updates, summed over their hospitals (what the round's training cost, to compare methods at equal budgets).</summary>
    public long LocalSteps { get; init; }
    /// <summary>Bytes per hospital, direction and payload kind (what <see cref="BytesDown"/> and <see cref="BytesUp"/> add up), by hospital, then direction.</summary>
    public IReadOnlyList<ClientTraffic> Traffic { get; init; } = [];
    /// <summary>The weight each aggregated upload got (summing to 1); empty when the round was skipped.</summary>
    public IReadOnlyDictionary<string, double> AggregationWeights { get; init; } = new Dictionary<string, double>();
    /// <summary>
    /// The figure each aggregated upload's weight derives from, where the method's server gives one
    /// (<see cref="FedActors.Training.Methods.ServerAggregate.ClientFactors"/>; Fed-MAS: its robust factor); empty otherwise.
    /// </summary>
    public IReadOnlyDictionary<string, double> AggregationFactors { get; init; } = new Dictionary<string, double>();

    /// <summary>Selected hospitals whose update is not in the global model, for whatever reason, by id.</summary>
    public IReadOnlyList<string> NotAggregated => Selected.Except(Aggregated).ToList();

    /// <summary>Each outcome's event kind (<see cref="RunEventKinds"/>) with its hospitals, accepted first.</summary>
    public IEnumerable<(string Kind, IReadOnlyList<string> HospitalIds)> Outcomes =>
    [
        (RunEventKinds.Accepted, Accepted), (RunEventKinds.Dropped, Dropped), (RunEventKinds.Lost, Lost),
        (RunEventKinds.Late, Late), (RunEventKinds.Rejected, Rejected), (RunEventKinds.Surplus, Surplus),
    ];
}

/// <summary>
/// Bytes of one payload kind (<see cref="Training.Methods.PayloadKinds"/>) that went to
/// (<see cref="Down"/>) or came from (<see cref="Up"/>) one hospital in one round.
/// </summary>
/// <param name="HospitalId">The hospital.</param>
/// <param name="Direction"><see cref="Down"/> or <see cref="Up"/>.</param>
/// <param name="Kind">The payload kind, one of <see cref="Training.Methods.PayloadKinds"/>.</param>
/// <param name="Bytes">Bytes of that kind in that direction.</param>
public sealed record ClientTraffic(string HospitalId, string Direction, string Kind, long Bytes)
{
    /// <summary><see cref="Direction"/> of bytes sent to the hospital (the global model, the method's broadcast).</summary>
    public const string Down = "down";

    /// <summary><see cref="Direction"/> of bytes received from the hospital (its update).</summary>
    public const string Up = "up";
}

/// <summary>
/// Published to the run listeners as the open round's participants settle, for live progress
/// displays (not an event: nothing of it is written to <c>events.jsonl</c>). <paramref name="Training"/>
/// hospitals have been asked and not yet answered; <paramref name="Dropped"/> counts every way of not
/// being aggregated (dropped, lost, late, rejected).
/// </summary>
/// <param name="Round">The open round.</param>
/// <param name="Attempt">The round's selection attempt, from 1.</param>
/// <param name="Selected">Hospitals selected so far in the round.</param>
/// <param name="Training">Hospitals asked that have not answered yet.</param>
/// <param name="Accepted">Updates accepted so far.</param>
/// <param name="Dropped">Selected hospitals that will not be aggregated (dropped, lost, late, rejected).</param>
public sealed record RoundProgress(int Round, int Attempt, int Selected, int Training, int Accepted, int Dropped) : IFedActorsMessage;

/// <summary>Published to the run listener each time a round closes.</summary>
/// <param name="Summary">What happened in the round.</param>
public sealed record RoundClosed(RoundSummary Summary) : IFedActorsMessage;

/// <summary>The run's outcome: the final global model and every round's summary.</summary>
/// <param name="FinalGlobal">The global model after the last round.</param>
/// <param name="Rounds">Every round's summary, in order.</param>
public sealed record RunCompleted(ModelWeights FinalGlobal, IReadOnlyList<RoundSummary> Rounds) : IFedActorsMessage;

/// <summary>Registers the actor that receives <see cref="RoundClosed"/>, <see cref="RunEvent"/> and <see cref="RunCompleted"/>.</summary>
/// <param name="Listener">The actor to receive them.</param>
public sealed record SubscribeToRun(IActorRef Listener) : IFedActorsMessage;

/// <summary>
/// Registers an actor on the coordinator's own node for the global model after every closed round
/// (<see cref="GlobalAfterRound"/>), e.g. to write checkpoints. Local only: a model is not sent over
/// the network this way (between nodes weights travel by reference).
/// </summary>
/// <param name="Listener">An actor on the coordinator's node.</param>
public sealed record SubscribeToGlobals(IActorRef Listener) : INoSerializationVerificationNeeded;

/// <summary>The global model as round <paramref name="Round"/> left it (unchanged if the round was skipped).</summary>
/// <param name="Round">The round just closed.</param>
/// <param name="Global">The global model it left.</param>
public sealed record GlobalAfterRound(int Round, ModelWeights Global) : INoSerializationVerificationNeeded;

/// <summary>
/// One line of a run's <c>events.jsonl</c>: a hospital selected, its update accepted, dropped,
/// lost, late, rejected, duplicated or surplus, a fault that fired, a retry, a skipped round,
/// a crash and a recovery. <paramref name="HospitalId"/> is null for events of the whole round.
/// </summary>
/// <param name="Round">The round it happened in, from 1.</param>
/// <param name="Attempt">The round's selection attempt, from 1 (more under <see cref="Coordination.TooFewPolicy.Retry"/>).</param>
/// <param name="Kind">What happened: one of <see cref="RunEventKinds"/>.</param>
/// <param name="HospitalId">The hospital concerned; null for events of the whole round.</param>
/// <param name="Reason">A human-readable explanation, e.g. which fault fired.</param>
/// <param name="SimulatedSeconds">When it happened on the simulated clock.</param>
public sealed record RunEvent(int Round, int Attempt, string Kind, string? HospitalId, string Reason, double SimulatedSeconds) : IFedActorsMessage;

/// <summary>The kinds of <see cref="RunEvent"/>.</summary>
public static class RunEventKinds
{
    /// <summary>A hospital was selected for the round (in a retry, the reason says which).</summary>
    public const string Selected = "selected";
    /// <summary>A selected hospital's update arrived on time and passed every check.</summary>
    public const string Accepted = "accepted";
    /// <summary>Over-selection: on time, but not among the first k to finish.</summary>
    public const string Surplus = "surplus";
    /// <summary>A selected hospital failed and sent nothing usable (an injected drop, the wall-clock timeout, offline on the trace).</summary>
    public const string Dropped = "dropped";
    /// <summary>A message lost in transit (request or upload).</summary>
    public const string Lost = "lost";
    /// <summary>A selected hospital's update arrived after the simulated deadline.</summary>
    public const string Late = "late";
    /// <summary>An update for a round that had already closed; counted in the round open (or next to open) when it came.</summary>
    public const string Stale = "stale";
    /// <summary>An update nobody asked for: from a hospital not selected, or for a round not yet open.</summary>
    public const string Unexpected = "unexpected";
    /// <summary>A second update from a hospital that already had an outcome this round.</summary>
    public const string Duplicate = "duplicate";
    /// <summary>A selected hospital's update failed a check (layout, NaN or Inf, sample count, hash, the method's own check).</summary>
    public const string Rejected = "rejected";
    /// <summary>A scripted slowdown applies to a selected hospital this round.</summary>
    public const string Slowed = "slowed";
    /// <summary>An injected delay of a request or an upload on the simulated clock.</summary>
    public const string Delayed = "delayed";
    /// <summary>An injected corruption spoilt a hospital's upload on arrival (<see cref="Faults.ScriptedCorruption"/>); its outcome follows.</summary>
    public const string Corrupted = "corrupted";
    /// <summary>Cluster mode: an upload's weights could not be fetched from its node; the hospital is asked again.</summary>
    public const string FetchFailed = "fetch-failed";
    /// <summary>Too few updates were accepted and the round selects further hospitals (<see cref="Coordination.TooFewPolicy.Retry"/>).</summary>
    public const string Retry = "retry";
    /// <summary>Too few updates were accepted: the round closed keeping the global model.</summary>
    public const string RoundSkipped = "round-skipped";
    /// <summary>The round closed with a new global model.</summary>
    public const string RoundClosed = "round-closed";
    /// <summary>A scripted crash of a worker node fired (cluster mode).</summary>
    public const string WorkerCrash = "worker-crash";
    /// <summary>A worker node left the cluster (crashed, downed, or left); mid-round, the hospitals that had not answered were asked again, and the reason names them.</summary>
    public const string NodeLost = "node-lost";
    /// <summary>A worker node joined the cluster.</summary>
    public const string NodeJoined = "node-joined";
    /// <summary>A hospital answered from another node than last time (its shard moved: a crash or a rebalance).</summary>
    public const string HospitalMoved = "hospital-moved";
    /// <summary>A hospital restarted and restored its state from a snapshot before answering (not a passivated hospital's planned restore).</summary>
    public const string HospitalRestored = "hospital-restored";
    /// <summary>The coordinator's checkpoint after a round could not be saved (the run goes on; a crash now resumes from the one before).</summary>
    public const string CheckpointFailed = "checkpoint-failed";
    /// <summary>As <see cref="CheckpointFailed"/>, because the disk or quota is full: <c>fedactors run</c> and <c>node</c> stop the run with one error.</summary>
    public const string StorageFull = "storage-full";
    /// <summary>A scripted coordinator crash fired once the round's requests were out.</summary>
    public const string CoordinatorCrash = "coordinator-crash";
    /// <summary>The coordinator continued from its last round snapshot (after a crash, a take-over or a resumed run).</summary>
    public const string CoordinatorRecovered = "coordinator-recovered";
}

/// <summary>
/// What the coordinator snapshots after every round (Akka.Persistence, not sent between actors):
/// enough to continue the run from the next round after a crash. Selection, faults and client
/// seeds are drawn from generators derived from (seed, round, hospital), so no generator state
/// needs saving beyond the round number.
/// </summary>
/// <param name="CompletedRound">The last completed round; the run continues with the next.</param>
/// <param name="Global">The global model that round left.</param>
/// <param name="SimulatedClock">The simulated clock when that round closed.</param>
/// <param name="History">Every completed round's summary, in order.</param>
/// <param name="Method">The method's name; recovering under another method is refused.</param>
/// <param name="MethodState">The method server's state (<see cref="Training.Methods.IFederatedServer.SaveState"/>).</param>
public sealed record CoordinatorSnapshot(
    int CompletedRound, ModelWeights Global, double SimulatedClock, IReadOnlyList<RoundSummary> History, string Method, byte[] MethodState)
    : IFedActorsMessage;

/// <summary>Coordinator → a worker's <c>NodeFaultAgent</c>: the fault plan's scripted crash of that node.</summary>
/// <param name="Node">The worker node to crash, by name.</param>
/// <param name="Round">The round the crash is scripted for.</param>
public sealed record CrashNode(string Node, int Round) : IFedActorsMessage;
