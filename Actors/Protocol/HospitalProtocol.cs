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
public sealed record TrainRoundByRef(int Round, WeightsRef Global, MethodPayloads? Broadcast = null) : IFedActorsMessage;

/// <summary>
/// Hospital → coordinator: the result of local training for one round, its weights offered on the hospital's node's
/// <c>WeightsTransfer</c> (<paramref name="Weights"/>); <paramref name="Extras"/> is what the method uploads beside them
/// (null: nothing). The coordinator fetches the weights and judges the resolved <c>LocalUpdate</c>.
/// </summary>
public sealed record LocalUpdateByRef(
    int Round,
    string HospitalId,
    WeightsRef Weights,
    int Samples,
    double MeanLoss,
    int Steps,
    double ComputeSeconds,
    MethodPayloads? Extras = null) : IFedActorsMessage;

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
public sealed record LocalStateReport(string HospitalId, int LastRound, int SavedRound, LocalStateSummary? State) : IFedActorsMessage;

/// <summary>
/// What a hospital persists at the end of a round (Akka.Persistence snapshot, not sent between
/// actors): its learner's complete state in <see cref="ILocalLearner.SaveState"/> format, and
/// that round's upload figures, so a hospital restored elsewhere can answer a resent request
/// for the same round without training it twice (its weights are the restored learner's).
/// </summary>
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
public sealed record ToHospital(string HospitalId, object Message) : Akka.Actor.INoSerializationVerificationNeeded;

/// <summary>
/// From a hospital that passivates to its host: its last round is answered and snapshotted, so it can stop, keeping
/// nothing in memory, and be started again from the snapshot when next needed. Local to the node.
/// </summary>
public sealed record HospitalIdle(string HospitalId) : Akka.Actor.INoSerializationVerificationNeeded;
