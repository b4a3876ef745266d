using FedActors.Training.Objectives;
using FedActors.Training.Weights;

namespace FedActors.Actors.Protocol;

/// <summary>Coordinator → hospital: train round <paramref name="Round"/> starting from <paramref name="Global"/>.</summary>
public sealed record TrainRound(int Round, ModelWeights Global) : IFedActorsMessage;

/// <summary>Hospital → coordinator: the result of local training for one round.</summary>
public sealed record LocalUpdate(
    int Round,
    string HospitalId,
    ModelWeights Weights,
    int Samples,
    double MeanLoss,
    int Steps,
    double ComputeSeconds) : IFedActorsMessage;

/// <summary>Asks a hospital for a fingerprint of its persistent local state.</summary>
public sealed record GetLocalState : IFedActorsMessage
{
    public static GetLocalState Instance { get; } = new();
}

/// <summary>A hospital's local-state fingerprint; <paramref name="State"/> is null before its first round.</summary>
public sealed record LocalStateReport(string HospitalId, int LastRound, LocalStateSummary? State) : IFedActorsMessage;

/// <summary>
/// Cluster Sharding's hand-off message for hospitals: sent when a hospital's shard moves
/// (rebalance, graceful leave); the hospital stops once its state is safely saved.
/// </summary>
public sealed record StopHospital : IFedActorsMessage
{
    public static StopHospital Instance { get; } = new();
}
