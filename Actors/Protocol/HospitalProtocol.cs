using FedActors.Training.Methods;
using FedActors.Training.Objectives;

namespace FedActors.Actors.Protocol;

/// <summary>
/// Coordinator → hospital: train round <paramref name="Round"/> starting from the global weights <paramref name="Global"/>,
/// offered on the coordinator's node's <c>WeightsTransfer</c>; <paramref name="Broadcast"/> is what the method's server sends
/// beside it (null: nothing). Weights always travel by reference: between nodes the hospital's transfer fetches them (over
/// the side channel or in chunks, so a model larger than a remoting frame is no problem); in one process the same transfer
/// holds them, and the fetch returns the very object offered.
/// </summary>
/// <param name="Round">The round to train, from 1.</param>
/// <param name="Global">A reference to the global model to start from.</param>
/// <param name="Broadcast">What the method's server sends beside the global; null: nothing.</param>
public sealed record TrainRoundByRef(int Round, WeightsRef Global, MethodPayloads? Broadcast = null) : IFedActorsMessage
{
    /// <summary>The request's token, which the answer must echo in <see cref="LocalUpdateByRef.RequestToken"/> (0: none, and no answer will be accepted).</summary>
    public ulong RequestToken { get; init; }

    /// <summary>The fault plan's instruction to alter this round's upload, as a malicious client would (<see cref="Faults.ScriptedMalice"/>); null: honest.</summary>
    public Faults.Malice? Malice { get; init; }
}

/// <summary>
/// Hospital → coordinator: the result of local training for one round, its weights offered on the hospital's node's
/// <c>WeightsTransfer</c> (<paramref name="Weights"/>); <paramref name="Extras"/> is what the method uploads beside them
/// (null: nothing). The coordinator fetches the weights and judges the resolved <c>LocalUpdate</c>.
/// </summary>
/// <param name="Round">The round the update was trained for.</param>
/// <param name="HospitalId">The hospital that trained it.</param>
/// <param name="Weights">A reference to the locally trained model, offered on the hospital's node.</param>
/// <param name="Samples">Training samples used (FedAvg weighs updates by these).</param>
/// <param name="MeanLoss">Mean local training loss.</param>
/// <param name="Steps">Optimiser steps taken (the modelled compute clock).</param>
/// <param name="ComputeSeconds">Wall-clock seconds the training took (the measured compute clock).</param>
/// <param name="Extras">What the method uploads beside the weights; null: nothing.</param>
public sealed record LocalUpdateByRef(
    int Round,
    string HospitalId,
    WeightsRef Weights,
    int Samples,
    double MeanLoss,
    int Steps,
    double ComputeSeconds,
    MethodPayloads? Extras = null) : IFedActorsMessage
{
    /// <summary>The address of the node the hospital trained on (e.g. <c>akka.tcp://fedactors@10.0.0.7:4053</c>); null from a sender that does not say.</summary>
    public string? Node { get; init; }

    /// <summary>
    /// The round of the snapshot the hospital restored its state from since its previous answer (a restart on another
    /// node after a crash, or after a failed training), 0 when it was not restored. Restores of a passivated hospital,
    /// which happen every round by design, are not reported.
    /// </summary>
    public int RestoredFromRound { get; init; }

    /// <summary>The token of the request it answers (<see cref="TrainRoundByRef.RequestToken"/>): the coordinator weighs an update only with its request's token.</summary>
    public ulong RequestToken { get; init; }
}

/// <summary>
/// A hospital's answer when its training of <paramref name="Round"/> threw on every immediate retry: the coordinator
/// counts it dropped for the round (with this reason, told to the strategy) instead of waiting for the round's timeout.
/// </summary>
/// <param name="Round">The round whose training failed.</param>
/// <param name="HospitalId">The hospital that failed.</param>
/// <param name="Reason">The last exception's message.</param>
public sealed record HospitalTrainingFailed(int Round, string HospitalId, string Reason) : IFedActorsMessage
{
    /// <summary>The token of the request it answers (<see cref="TrainRoundByRef.RequestToken"/>): a report without it is ignored.</summary>
    public ulong RequestToken { get; init; }
}

/// <summary>Asks a hospital for a fingerprint of its persistent local state.</summary>
public sealed record GetLocalState : IFedActorsMessage
{
    /// <summary>The single instance to send.</summary>
    public static GetLocalState Instance { get; } = new();
}

/// <summary>
/// A hospital's local-state fingerprint; <paramref name="State"/> is null before its first round.
/// <paramref name="SavedRound"/> is the last round whose snapshot the store has confirmed (0: none),
/// so a caller can tell when stopping the hospital loses nothing.
/// </summary>
/// <param name="HospitalId">The hospital.</param>
/// <param name="LastRound">The last round it trained (0: none).</param>
/// <param name="SavedRound">The last round whose snapshot the store has confirmed (0: none).</param>
/// <param name="State">A fingerprint of its learner's persistent state; null before its first round.</param>
public sealed record LocalStateReport(string HospitalId, int LastRound, int SavedRound, LocalStateSummary? State) : IFedActorsMessage;

/// <summary>
/// What a hospital persists at the end of a round (Akka.Persistence snapshot, not sent between
/// actors): its learner's complete state in <see cref="ILocalLearner.SaveState"/> format, and
/// that round's upload figures, so a hospital restored elsewhere can answer a resent request
/// for the same round without training it twice (its weights are the restored learner's).
/// </summary>
/// <param name="HospitalId">The hospital.</param>
/// <param name="LastRound">The round the snapshot was taken after.</param>
/// <param name="LearnerState">The learner's complete state, as ILocalLearner.SaveState writes it.</param>
/// <param name="Samples">That round's training samples.</param>
/// <param name="MeanLoss">That round's mean local loss.</param>
/// <param name="Steps">That round's optimiser steps.</param>
/// <param name="ComputeSeconds">That round's training wall-clock seconds.</param>
/// <param name="Extras">That round's method upload beside the weights; null: nothing.</param>
public sealed record HospitalSnapshot(
    string HospitalId, int LastRound, byte[] LearnerState, int Samples, double MeanLoss, int Steps, double ComputeSeconds,
    MethodPayloads? Extras = null) : IFedActorsMessage;

/// <summary>
/// Cluster Sharding's hand-off message for hospitals: sent when a hospital's shard moves
/// (rebalance, graceful leave); the hospital stops once its last snapshot is saved.
/// </summary>
public sealed record StopHospital : IFedActorsMessage
{
    /// <summary>The single instance to send.</summary>
    public static StopHospital Instance { get; } = new();
}

/// <summary>
/// To the hospital <paramref name="HospitalId"/> through this node's <see cref="Hospitals.HospitalHost"/>, which starts it
/// (restored from its snapshot) if it is passivated. Local to the node: never serialized.
/// </summary>
/// <param name="HospitalId">The hospital the message is for.</param>
/// <param name="Message">The message to deliver, with the original sender kept.</param>
public sealed record ToHospital(string HospitalId, object Message) : Akka.Actor.INoSerializationVerificationNeeded;

/// <summary>
/// From a hospital that passivates to its host: its last round is answered and snapshotted, so it can stop, keeping
/// nothing in memory, and be started again from the snapshot when next needed. Local to the node.
/// </summary>
/// <param name="HospitalId">The hospital that may now stop.</param>
public sealed record HospitalIdle(string HospitalId) : Akka.Actor.INoSerializationVerificationNeeded;
