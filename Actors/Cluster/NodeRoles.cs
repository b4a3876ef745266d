namespace FedActors.Actors.Cluster;

/// <summary>Cluster roles: one process may have both (the embedded default does).</summary>
public static class NodeRoles
{
    /// <summary>Hosts the round coordinator singleton.</summary>
    public const string Coordinator = "coordinator";

    /// <summary>Hosts hospital shards and a device-slot manager.</summary>
    public const string Worker = "worker";
}
