namespace FedActors.Actors.Cluster;

/// <summary>Cluster roles: one process may have both (the embedded default does).</summary>
public static class NodeRoles
{
    /// <summary>Hosts the round coordinator singleton.</summary>
    public const string Coordinator = "coordinator";

    /// <summary>Hosts hospital shards and a device-slot manager.</summary>
    public const string Worker = "worker";

    private const string NamePrefix = "node."; // roles are written unquoted into HOCON: no colon

    /// <summary>The role that carries a node's name, so a fault plan can address it (<c>crash-worker</c>).</summary>
    public static string Named(string name) => NamePrefix + name;
}
