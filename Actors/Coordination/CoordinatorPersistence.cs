using Akka.Actor;
using FedActors.Actors.Hospitals;

namespace FedActors.Actors.Coordination;

/// <summary>
/// Whether the coordinator snapshots its round state after every round. It uses the system's
/// snapshot store, the one hospitals use (<see cref="HospitalPersistence"/>: a run directory's
/// <c>snapshots/</c>, shared storage in a cluster), because Akka's local file store reads one
/// fixed config section and so cannot serve two directories. Without this configuration the
/// coordinator keeps nothing, and a crashed coordinator starts the run over.
/// </summary>
public static class CoordinatorPersistence
{
    /// <summary>Set by <see cref="Hocon"/>; the coordinator snapshots and recovers its round state only when it is on.</summary>
    public const string EnabledKey = "fedactors.coordinator.snapshots";

    /// <summary>The journal the coordinator names, the hospitals' in-memory one: it persists snapshots only, so the journal just supplies sequence numbers.</summary>
    public const string JournalPluginId = HospitalPersistence.JournalPluginId;

    /// <summary>Akka's snapshot store that keeps nothing, used when snapshots are off.</summary>
    public const string NoSnapshotStore = "akka.persistence.no-snapshot-store";

    /// <summary>Snapshots into <paramref name="snapshotDirectory"/> (the same directory as the hospitals', when they snapshot too), or into <paramref name="store"/>.</summary>
    /// <param name="snapshotDirectory">The file store's directory; unused when <paramref name="store"/> is a database.</param>
    /// <param name="store">Where snapshots go (the hospitals' store): null or <see cref="SnapshotStoreSettings.File"/> for the directory, else a database.</param>
    public static string Hocon(string snapshotDirectory, SnapshotStoreSettings? store = null) => $"""
        {EnabledKey} = on
        {HospitalPersistence.StoreHocon(snapshotDirectory, store)}
        """;

    /// <summary>Whether <paramref name="system"/>'s config turns coordinator snapshots on (<see cref="EnabledKey"/>).</summary>
    /// <param name="system">The system the coordinator runs in.</param>
    public static bool IsEnabled(ActorSystem system) => system.Settings.Config.GetBoolean(EnabledKey, false);
}
