using Akka.Actor;

namespace FedActors.Actors.Hospitals;

/// <summary>
/// Where hospitals snapshot their local state: Akka.Persistence's local file snapshot store on
/// a directory (a shared path when hospitals may restart on another machine). Without this
/// configuration hospitals keep their state in memory only, so an ActorSystem never writes
/// snapshots to a directory nobody chose.
/// </summary>
public static class HospitalPersistence
{
    /// <summary>Set by <see cref="Hocon"/>; hospitals snapshot and recover only when it is on.</summary>
    public const string EnabledKey = "fedactors.hospitals.snapshots";

    /// <summary>Hospitals persist nothing but snapshots, so the journal is only asked for a sequence number.</summary>
    public const string JournalPluginId = "akka.persistence.journal.inmem";

    /// <summary>The HOCON that turns hospital snapshots on (<see cref="EnabledKey"/>) into <paramref name="snapshotDirectory"/>.</summary>
    /// <param name="snapshotDirectory">The snapshot directory; relative paths are made absolute here.</param>
    public static string Hocon(string snapshotDirectory) => $"""
        {EnabledKey} = on
        {StoreHocon(snapshotDirectory)}
        """;

    /// <summary>The snapshot store on <paramref name="snapshotDirectory"/>, shared by hospitals and the coordinator.</summary>
    public static string StoreHocon(string snapshotDirectory) => $$"""
        akka.persistence {
          journal.plugin = "{{JournalPluginId}}"
          snapshot-store.plugin = "akka.persistence.snapshot-store.local"
          snapshot-store.local {
            dir = {{Quote(Path.GetFullPath(snapshotDirectory))}}
            # A ResNet-18 hospital's state (query, key, momentum) is over 100 MB; shared storage can be slow.
            circuit-breaker.call-timeout = 120s
          }
        }
        """;

    /// <summary>Whether <paramref name="system"/>'s config turns hospital snapshots on (<see cref="EnabledKey"/>).</summary>
    /// <param name="system">The system hospitals run in.</param>
    public static bool IsEnabled(ActorSystem system) => system.Settings.Config.GetBoolean(EnabledKey, false);

    private static string Quote(string value) => "\"" + value.Replace("\\", "\\\\").Replace("\"", "\\\"") + "\"";
}
