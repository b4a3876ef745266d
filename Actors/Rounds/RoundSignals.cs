using FedActors.Actors.Protocol;
using FedActors.Training.Methods;
using FedActors.Training.Weights;

namespace FedActors.Actors.Rounds;

/// <summary>Something that happened, as the round engine is told of it (<see cref="RoundEngine.Handle"/>).</summary>
public abstract record RoundInput;

/// <summary>Start the run, or continue it: after a recovery, from the round after the last completed one.</summary>
/// <param name="AfterCrash">A new incarnation of a coordinator that crashed: the run continues (a scripted crash does not fire again).</param>
public sealed record RunStartRequested(bool AfterCrash = false) : RoundInput;

/// <summary>A hospital says its update for <paramref name="Round"/> is ready to fetch (by reference: the weights are not here yet).</summary>
/// <param name="Round">The round the update was trained for.</param>
/// <param name="HospitalId">The hospital.</param>
/// <param name="ContentHash">The update's content hash, to fetch it by.</param>
/// <param name="PayloadBytes">Its size, for simulated bandwidth.</param>
/// <param name="Node">The node the hospital trained on, as it says (null: not said); a change from its previous answer is a move.</param>
/// <param name="RestoredFromRound">The round of the snapshot it restored its state from since its previous answer; 0: not restored.</param>
public sealed record UpdateAnnounced(int Round, string HospitalId, string ContentHash, long PayloadBytes, string? Node = null, int RestoredFromRound = 0)
    : RoundInput
{
    /// <summary>The request token the answer echoes (<see cref="SendRequest.RequestToken"/>); an update without its request's token is ignored.</summary>
    public ulong RequestToken { get; init; }
}

/// <summary>A hospital's update, with its weights.</summary>
/// <param name="Round">The round the update was trained for.</param>
/// <param name="HospitalId">The hospital that trained it.</param>
/// <param name="Weights">Its locally trained model.</param>
/// <param name="Samples">Training samples it used (FedAvg weighs updates by these).</param>
/// <param name="MeanLoss">Its mean local training loss.</param>
/// <param name="Steps">Optimiser steps it took (the modelled compute clock).</param>
/// <param name="ComputeSeconds">Wall-clock seconds its training took (the measured compute clock).</param>
/// <param name="Extras">What the method uploads beside the weights.</param>
public sealed record UpdateArrived(
    int Round, string HospitalId, ModelWeights Weights, int Samples, double MeanLoss, int Steps, double ComputeSeconds, MethodPayloads Extras)
    : RoundInput
{
    /// <summary>The request token the answer echoes (<see cref="SendRequest.RequestToken"/>); an update without its request's token is ignored.</summary>
    public ulong RequestToken { get; init; }
}

/// <summary>An announced update's weights could not be fetched (its node may be gone): the hospital stays pending and is asked again.</summary>
/// <param name="Round">The round of the update.</param>
/// <param name="HospitalId">The hospital.</param>
/// <param name="Reason">Why the fetch failed.</param>
public sealed record UpdateUnavailable(int Round, string HospitalId, string Reason) : RoundInput;

/// <summary>A selected hospital failed outside the fault plan (its process died, its training threw): it is dropped with the reason.</summary>
/// <param name="Round">The round it failed in.</param>
/// <param name="HospitalId">The hospital.</param>
/// <param name="Reason">What went wrong, for the events file.</param>
public sealed record HospitalFailed(int Round, string HospitalId, string Reason) : RoundInput
{
    /// <summary>The request token the report echoes (<see cref="SendRequest.RequestToken"/>); a report without it is ignored, as a forged update is.</summary>
    public ulong RequestToken { get; init; }
}

/// <summary>A worker node left or was downed: its hospitals restart elsewhere, so the pending ones are asked again now.</summary>
/// <param name="Node">The lost node's address.</param>
public sealed record NodeLost(string Node) : RoundInput;

/// <summary>A worker node joined the cluster (Up): the log records it.</summary>
/// <param name="Node">The node's address.</param>
public sealed record NodeJoined(string Node) : RoundInput;

/// <summary>The wall-clock safety net of an attempt ran out (<see cref="Coordination.CoordinatorSettings.RoundTimeout"/>): who is still silent is dropped.</summary>
/// <param name="Round">The round.</param>
/// <param name="Attempt">The attempt whose timeout ran out; a later attempt ignores it.</param>
public sealed record TimeoutElapsed(int Round, int Attempt) : RoundInput;

/// <summary>The resend interval passed: pending hospitals are asked again.</summary>
/// <param name="Round">The round still open when it was armed; a later round ignores it.</param>
public sealed record ResendDue(int Round) : RoundInput;

/// <summary>
/// The checkpoint asked for by <see cref="SaveCheckpoint"/> is written, or could not be (<paramref name="Failure"/>): the
/// engine reports that as a <see cref="RunEventKinds.CheckpointFailed"/> event (<see cref="RunEventKinds.StorageFull"/> when
/// the disk or quota is full) and goes on; whoever runs the engine decides whether a run without checkpoints may go on.
/// </summary>
/// <param name="Failure">Why it was not written, or null when it was.</param>
/// <param name="StorageFull">Whether the failure is a full disk or quota (<see cref="StorageErrors.IsFull"/>).</param>
public sealed record CheckpointWritten(string? Failure = null, bool StorageFull = false) : RoundInput;

/// <summary>The coordinator's last checkpoint, read back after a crash, a singleton move or in a new process.</summary>
/// <param name="Snapshot">The round state saved after the last completed round.</param>
/// <param name="Source">Where it came from, for error messages.</param>
/// <param name="StalledSeconds">
/// Wall-clock seconds the run stood still between the checkpoint and this recovery, counted into the next round's
/// <see cref="RoundSummary.WallSeconds"/> so that a failover's stall is on record; 0 for a new process's <c>--resume</c>
/// (<see cref="Stall"/>).
/// </param>
public sealed record RecoveredFromSnapshot(CoordinatorSnapshot Snapshot, string Source, double StalledSeconds = 0) : RoundInput
{
    /// <summary>
    /// The stall of a checkpoint saved at <paramref name="savedAt"/> and read back at <paramref name="now"/> by a process
    /// started at <paramref name="processStarted"/>: a checkpoint saved while this process was already up (a coordinator
    /// moved to it within the run) stalled the run from then to now; one saved before it started belongs to an earlier
    /// process (a resumed run), whose downtime is no round's time, so 0.
    /// </summary>
    /// <param name="savedAt">When the checkpoint was written (the snapshot store's timestamp, UTC).</param>
    /// <param name="now">Now, UTC.</param>
    /// <param name="processStarted">When this process started, UTC.</param>
    public static double Stall(DateTime savedAt, DateTime now, DateTime processStarted) =>
        savedAt < processStarted || now < savedAt ? 0 : (now - savedAt).TotalSeconds;

    /// <summary>
    /// <see cref="Stall"/> of a checkpoint saved at <paramref name="savedAt"/>, read back now by this process. The wall clock
    /// is wanted here: the stall is a duration for metrics.csv's <c>wall_seconds</c>, never an input to a model.
    /// </summary>
    /// <param name="savedAt">When the checkpoint was written (the snapshot store's timestamp, UTC).</param>
    public static double StallUntilNow(DateTime savedAt) => Stall(savedAt, DateTime.UtcNow, ProcessStarted);

    private static readonly DateTime ProcessStarted = StartOfThisProcess();

    private static DateTime StartOfThisProcess()
    {
        using var self = System.Diagnostics.Process.GetCurrentProcess();
        return self.StartTime.ToUniversalTime();
    }
}

/// <summary>What the round engine decided; the coordinator actor carries each out, in order.</summary>
public abstract record RoundDecision;

/// <summary>Make this round's global model fetchable by reference; requests carry its reference.</summary>
/// <param name="Round">The round about to ask hospitals.</param>
/// <param name="Global">The global model to offer.</param>
public sealed record OfferGlobal(int Round, ModelWeights Global) : RoundDecision;

/// <summary>Ask <paramref name="HospitalId"/> for its update of <paramref name="Round"/>, sending the global model and <paramref name="Broadcast"/>.</summary>
/// <param name="Round">The round.</param>
/// <param name="HospitalId">The hospital to ask.</param>
/// <param name="Broadcast">What the method's server sends beside the global.</param>
public sealed record SendRequest(int Round, string HospitalId, MethodPayloads Broadcast) : RoundDecision
{
    /// <summary>
    /// A secret the hospital's answer must echo: keyed by the coordinator's request key and (round, attempt, hospital), so only
    /// whoever received this request can answer it; the same on a resend. Never 0.
    /// </summary>
    public ulong RequestToken { get; init; }

    /// <summary>The fault plan's instruction to a malicious hospital (<see cref="Faults.ScriptedMalice"/>); null for an honest one.</summary>
    public Faults.Malice? Malice { get; init; }
}

/// <summary>Fetch an announced update's weights; the answer comes back as <see cref="UpdateArrived"/> or <see cref="UpdateUnavailable"/>.</summary>
/// <param name="Round">The round.</param>
/// <param name="HospitalId">The hospital that announced it.</param>
/// <param name="ContentHash">The update's content hash.</param>
public sealed record FetchUpdate(int Round, string HospitalId, string ContentHash) : RoundDecision;

/// <summary>An announced update that will not be fetched (stale, unexpected, a duplicate): its owner may drop it.</summary>
/// <param name="Round">The round it was announced for.</param>
/// <param name="HospitalId">The hospital that announced it.</param>
/// <param name="ContentHash">The update's content hash.</param>
public sealed record IgnoreUpdate(int Round, string HospitalId, string ContentHash) : RoundDecision;

/// <summary>Publish a run event (events.jsonl); an attempt's events come in simulated-time order when it closes.</summary>
/// <param name="Event">The event.</param>
public sealed record PublishEvent(RunEvent Event) : RoundDecision;

/// <summary>Live counts of the open round, for progress displays.</summary>
/// <param name="Progress">The live counts.</param>
public sealed record ReportProgress(RoundProgress Progress) : RoundDecision;

/// <summary>Start the wall-clock safety net of this attempt; <see cref="TimeoutElapsed"/> comes back when it runs out.</summary>
/// <param name="Round">The round.</param>
/// <param name="Attempt">The attempt.</param>
/// <param name="After">The wall-clock time until it runs out (<see cref="Coordination.CoordinatorSettings.RoundTimeout"/>).</param>
public sealed record ArmTimeout(int Round, int Attempt, TimeSpan After) : RoundDecision;

/// <summary>Every participant of the attempt has an outcome: the attempt's timeout is no longer needed.</summary>
public sealed record DisarmTimeout : RoundDecision;

/// <summary>Ask pending hospitals again every <paramref name="Every"/>: <see cref="ResendDue"/> comes back each time.</summary>
/// <param name="Round">The open round.</param>
/// <param name="Every">The resend interval (<see cref="Coordination.CoordinatorSettings.ResendInterval"/>).</param>
public sealed record StartResending(int Round, TimeSpan Every) : RoundDecision;

/// <summary>The round closed: stop the round's timers.</summary>
public sealed record StopTimers : RoundDecision;

/// <summary>A scripted crash of the coordinator itself: the actor throws, and recovers from its last checkpoint.</summary>
/// <param name="Round">The round the crash is scripted for.</param>
public sealed record CrashCoordinator(int Round) : RoundDecision;

/// <summary>The round closed with this summary and left this global model (unchanged if skipped).</summary>
/// <param name="Summary">What happened in the round, as metrics record it.</param>
/// <param name="Global">The global model after the round.</param>
/// <param name="PreviousGlobal">The global the round started from, whose offer may now be withdrawn.</param>
public sealed record CloseRound(RoundSummary Summary, ModelWeights Global, ModelWeights PreviousGlobal) : RoundDecision;

/// <summary>Persist this checkpoint, then send <see cref="CheckpointWritten"/>: the next round begins only after it.</summary>
/// <param name="Snapshot">The round state to persist.</param>
public sealed record SaveCheckpoint(CoordinatorSnapshot Snapshot) : RoundDecision;

/// <summary>Every round is done.</summary>
/// <param name="Completed">The run's outcome, for the listeners and the sender of StartRun.</param>
public sealed record FinishRun(RunCompleted Completed) : RoundDecision;

/// <summary>Something worth a line in the log, not an event of the run.</summary>
/// <param name="Message">The log line.</param>
public sealed record Notice(string Message) : RoundDecision;
