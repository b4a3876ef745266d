using Akka.Actor;

namespace FedActors.Actors.Coordination;

/// <summary>
/// Where the coordinator snapshots its round state (a run directory's <c>checkpoints/</c>): its
/// own local-file snapshot store, apart from the hospitals'. Without this configuration the
/// coordinator keeps nothing, so a crashed coordinator starts the run over.
/// </summary>
public static class CoordinatorPersistence
{
    public const string SnapshotPluginId = "fedactors.coordinator-snapshot-store";
    public const string JournalPluginId = "akka.persistence.journal.inmem";
    public const string NoSnapshotStore = "akka.persistence.no-snapshot-store";

    public static string Hocon(string checkpointDirectory) => $$"""
        {{SnapshotPluginId}} {
          class = "Akka.Persistence.Snapshot.LocalSnapshotStore, Akka.Persistence"
          plugin-dispatcher = "akka.persistence.dispatchers.default-plugin-dispatcher"
          stream-dispatcher = "akka.persistence.dispatchers.default-stream-dispatcher"
          max-load-attempts = 3
          dir = {{Quote(Path.GetFullPath(checkpointDirectory))}}
          circuit-breaker.call-timeout = 120s
        }
        """;

    public static bool IsEnabled(ActorSystem system) => system.Settings.Config.HasPath(SnapshotPluginId + ".dir");

    private static string Quote(string value) => "\"" + value.Replace("\\", "\\\\").Replace("\"", "\\\"") + "\"";
}
