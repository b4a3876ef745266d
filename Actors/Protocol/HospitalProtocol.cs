using FedActors.Training.Methods;
using FedActors.Training.Objectives;
using FedActors.Training.Weights;

namespace FedActors.Actors.Protocol;

/// <summary>
/// Coordinator → hospital: train round <paramref name="Round"/> starting from <paramref name="Global"/>;
/// <paramref name="Broadcast"/> is what the method's server sends beside it (null: nothing).
/// </summary>
public sealed record TrainRound(int Round, ModelWeights Global, MethodPayloads? Broadcast = null) : IFedActorsMessage;

/// <summary>
/// Hospital → coordinator: the result of local training for one round; <paramref name="Extras"/> is
/// what the method uploads beside the weights (null: nothing).
/// </summary>
public sealed record LocalUpdate(
    int Round,
    string HospitalId,
    ModelWeights Weights,
    int Samples,
    double MeanLoss,
    int Steps,
    double ComputeSeconds,
    MethodPayloads? Extras = null) : IFedActorsMessage;

/// <summary>
/// Coordinator → hospital in cluster mode: <see cref="TrainRound"/> with the global weights by
/// reference, so a model larger than a remoting frame travels through the chunked weights transfer.
/// </summary>
public sealed record TrainRoundByRef(int Round, WeightsRef Global, MethodPayloads? Broadcast = null) : IFedActorsMessage;

/// <summary>Hospital → coordinator in cluster mode: <see cref="LocalUpdate"/> with the weights by reference.</summary>
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
