using Akka.Actor;

namespace FedActors.Actors.Hospitals;

/// <summary>
/// Where hospitals snapshot their local state: Akka.Persistence's local file snapshot store on
/// a directory (a shared path when hospitals may restart on another machine), or a PostgreSQL database
/// (<see cref="SnapshotStoreSettings"/>) that every node reaches. Without this
/// configuration hospitals keep their state in memory only, so an ActorSystem never writes
/// snapshots to a directory nobody chose.
/// </summary>
public static class HospitalPersistence
{
    /// <summary>Set by <see cref="Hocon"/>; hospitals snapshot and recover only when it is on.</summary>
    public const string EnabledKey = "fedactors.hospitals.snapshots";

    /// <summary>Hospitals persist nothing but snapshots, so the journal is only asked for a sequence number.</summary>
    public const string JournalPluginId = "akka.persistence.journal.inmem";

    /// <summary>The HOCON that turns hospital snapshots on (<see cref="EnabledKey"/>) into <paramref name="snapshotDirectory"/>, or into <paramref name="store"/>.</summary>
    /// <param name="snapshotDirectory">The snapshot directory; relative paths are made absolute here.</param>
    /// <param name="store">Where snapshots go: null or <see cref="SnapshotStoreSettings.File"/> for the directory, else a database.</param>
    public static string Hocon(string snapshotDirectory, SnapshotStoreSettings? store = null) => $"""
        {EnabledKey} = on
        {StoreHocon(snapshotDirectory, store)}
        """;

    /// <summary>The snapshot store, shared by hospitals and the coordinator: the file store on <paramref name="snapshotDirectory"/>, or <paramref name="store"/>.</summary>
    /// <param name="snapshotDirectory">The file store's directory; unused when <paramref name="store"/> is a database.</param>
    /// <param name="store">Where snapshots go: null or <see cref="SnapshotStoreSettings.File"/> for the directory, else a database.</param>
    public static string StoreHocon(string snapshotDirectory, SnapshotStoreSettings? store = null) =>
        (store ?? SnapshotStoreSettings.File).Hocon(snapshotDirectory);

    /// <summary>Whether <paramref name="system"/>'s config turns hospital snapshots on (<see cref="EnabledKey"/>).</summary>
    /// <param name="system">The system hospitals run in.</param>
    public static bool IsEnabled(ActorSystem system) => system.Settings.Config.GetBoolean(EnabledKey, false);
}
