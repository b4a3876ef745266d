using FedActors.Actors.Coordination;
using FedActors.Actors.Devices;
using FedActors.Actors.Hospitals;
using FedActors.Training.Methods;
using FedActors.Training.Weights;

namespace FedActors.Actors.Hosting;

/// <summary>
/// Everything the actor system needs to run one federated experiment in-process.
/// <paramref name="SnapshotDirectory"/>: where hospitals snapshot their local state each round
/// (null: in memory only). Give each run its own, or hospitals resume a previous run's state.
/// <paramref name="Devices"/>: where hospitals train; null gives one CPU slot per training thread.
/// <paramref name="CheckpointRounds"/>: the coordinator snapshots its round state after every round into
/// <paramref name="SnapshotDirectory"/> too, so a crashed coordinator (or <c>fedactors run --resume</c>)
/// continues from the last completed round; without it a crashed coordinator starts over. Faults, heterogeneity and availability are part of
/// <see cref="CoordinatorSettings"/>.
/// <paramref name="CreateServer"/>: the method's server side (aggregation, broadcast), made afresh for each coordinator
/// incarnation; null is FedAvg. The method's client side is what <see cref="HospitalDefinition.CreateLearner"/> builds.
/// </summary>
/// <param name="Coordinator">How rounds run: count, selection, deadlines, faults, heterogeneity, availability, seed.</param>
/// <param name="Hospitals">Every hospital of the run; every node builds the same list from the same config.</param>
/// <param name="InitialGlobal">The global model before round 1.</param>
/// <param name="Evaluate">Evaluates the global model every <see cref="CoordinatorSettings.EvaluateEvery"/> rounds and after the last; null evaluates nothing.</param>
/// <param name="TrainingThreads">Threads of the training dispatcher: how many hospitals train at once in a process (at least 1).</param>
/// <param name="SnapshotDirectory">Where hospitals (and, with <paramref name="CheckpointRounds"/>, the coordinator) snapshot; null: in memory only.</param>
/// <param name="Devices">Where hospitals train; null gives one CPU slot per training thread.</param>
/// <param name="CheckpointRounds">Whether the coordinator snapshots its round state after every round.</param>
/// <param name="CreateServer">The method's server side, made for each coordinator incarnation; null is FedAvg.</param>
public sealed record FederatedRun(
    CoordinatorSettings Coordinator,
    IReadOnlyList<HospitalDefinition> Hospitals,
    ModelWeights InitialGlobal,
    GlobalModelEvaluator? Evaluate = null,
    int TrainingThreads = 1,
    string? SnapshotDirectory = null,
    DeviceSlotsSettings? Devices = null,
    bool CheckpointRounds = false,
    Func<IFederatedServer>? CreateServer = null)
{
    /// <summary>
    /// Keep only working hospitals in memory: each stops once its round is answered and snapshotted, and restores from
    /// the snapshot when next selected (in one process under a <see cref="HospitalHost"/>; in a cluster, passivated by
    /// its shard). Needs <see cref="SnapshotDirectory"/>.
    /// </summary>
    public bool PassivateHospitals { get; init; }

    /// <summary>
    /// Where the snapshots of <see cref="SnapshotDirectory"/>'s run go: by default the local file store on that directory
    /// (shared storage in a cluster); <see cref="SnapshotStoreSettings.PostgreSql"/> puts them in a database every node
    /// reaches instead. Snapshots are on only where <see cref="SnapshotDirectory"/> is set.
    /// </summary>
    public SnapshotStoreSettings SnapshotStore { get; init; } = SnapshotStoreSettings.File;
}
