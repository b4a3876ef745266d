namespace FedActors.Actors.Cluster;

/// <summary>Where a node listens, which roles it has, and whom it joins.</summary>
public sealed record ClusterNodeSettings
{
    /// <summary>The host name or IP address remoting binds to and other nodes reach this node at (default <c>127.0.0.1</c>).</summary>
    public string Hostname { get; init; } = "127.0.0.1";
    /// <summary>Remoting's TCP port (<c>--port</c>); 0 picks a free port.</summary>
    public int Port { get; init; }
    /// <summary>
    /// The TCP port of the weights transfer's bulk side channel (<c>--transfer-port</c>, <c>fedactors.cluster.transfer-port</c>);
    /// 0 (the default) picks a free one, which every <c>WeightsRef</c> names, so two nodes on one machine never collide.
    /// Set it where a firewall only opens known ports.
    /// </summary>
    public int TransferPort { get; init; }
    /// <summary>The node's roles, <see cref="NodeRoles.Coordinator"/> and/or <see cref="NodeRoles.Worker"/> (default both).</summary>
    public IReadOnlyList<string> Roles { get; init; } = [NodeRoles.Coordinator, NodeRoles.Worker];
    /// <summary>The node's name in fault plans (<c>crash-worker</c>); null: unnamed.</summary>
    public string? Name { get; init; }
    /// <summary>akka.tcp://fedactors@host:port addresses; a node whose own address is first forms the cluster.</summary>
    public IReadOnlyList<string> SeedNodes { get; init; } = [];
    /// <summary>
    /// Split Brain Resolver strategy: keep-majority (default) or keep-oldest. (static-quorum would need
    /// a configured quorum size; guessing one from the seed list would be wrong, so it is not offered.)
    /// </summary>
    public string SplitBrainStrategy { get; init; } = "keep-majority";
    /// <summary>How long a partition must be stable before the Split Brain Resolver downs the unreachable side.</summary>
    public TimeSpan StableAfter { get; init; } = TimeSpan.FromSeconds(20);
    /// <summary>Remoting's maximum frame; large weights go through the chunked weights transfer instead.</summary>
    public long MaximumFrameBytes { get; init; } = 1_000_000;

    /// <summary>
    /// What this node proves to the cluster and asks of nodes joining after it (<see cref="ClusterAdmission"/>): run id and
    /// cluster secret. Null (the default, as in-process test clusters use): no admission check.
    /// </summary>
    public ClusterAdmissionSettings? Admission { get; init; }

    /// <summary>
    /// The most connections the weights transfer's bulk channel serves at once (<c>fedactors.cluster.transfer-max-connections</c>,
    /// default 64); more are closed at once.
    /// </summary>
    public int TransferMaxConnections { get; init; } = 64;

    /// <summary>
    /// How long the bulk channel waits for any read or write of a connection before dropping it
    /// (<c>fedactors.cluster.transfer-read-timeout</c>, default 10 s).
    /// </summary>
    public TimeSpan TransferReadTimeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>
    /// Mutual TLS for remoting (<c>fedactors.cluster.tls-certificate</c> and <c>tls-authority</c>): this node's certificate
    /// and the cluster's CA, every connection both ways checked against it. Null (the default): plain TCP.
    /// </summary>
    public ClusterTlsSettings? Tls { get; init; }

    /// <summary>The scheme of this node's remoting addresses: <c>akka.ssl.tcp</c> with <see cref="Tls"/>, else <c>akka.tcp</c>.</summary>
    public string AddressScheme => Tls is null ? "akka.tcp" : "akka.ssl.tcp";

    /// <summary>Whether the node hosts hospitals (has the <see cref="NodeRoles.Worker"/> role).</summary>
    public bool IsWorker => Roles.Contains(NodeRoles.Worker);

    /// <summary>Whether the node may host the round coordinator (has the <see cref="NodeRoles.Coordinator"/> role).</summary>
    public bool IsCoordinator => Roles.Contains(NodeRoles.Coordinator);

    /// <summary>
    /// Checks roles (at least one, each known), the name (no spaces or commas), the split-brain strategy, a positive
    /// stable-after, ports in 0..65535 (the transfer's not remoting's) and a maximum frame between 32 kB and 1 MB.
    /// </summary>
    /// <exception cref="ArgumentException">A setting is invalid; the message names it.</exception>
    public void Validate()
    {
        var unknown = Roles.Where(r => r is not (NodeRoles.Coordinator or NodeRoles.Worker)).ToList();
        if (unknown.Count > 0) throw new ArgumentException($"Unknown node role(s) {string.Join(", ", unknown)}: use {NodeRoles.Coordinator} and/or {NodeRoles.Worker}.");
        if (Roles.Count == 0) throw new ArgumentException("A node needs at least one role.");
        if (Name is not null && (Name.Length == 0 || Name.Any(c => char.IsWhiteSpace(c) || c == ',')))
            throw new ArgumentException($"Node name '{Name}' must be non-empty, without spaces or commas.");
        if (SplitBrainStrategy is not ("keep-majority" or "keep-oldest"))
            throw new ArgumentException($"Unknown split-brain strategy '{SplitBrainStrategy}' (keep-majority, keep-oldest).");
        if (StableAfter <= TimeSpan.Zero) throw new ArgumentException($"split-brain stable-after must be positive, found {StableAfter}.");
        if (Port is < 0 or > 65535) throw new ArgumentException($"port {Port} must be 0..65535 (0 picks a free one).");
        if (TransferPort is < 0 or > 65535) throw new ArgumentException($"transfer port {TransferPort} must be 0..65535 (0 picks a free one).");
        if (TransferPort != 0 && TransferPort == Port)
            throw new ArgumentException($"transfer port {TransferPort} is remoting's port too: give the weights transfer another port, or 0 for a free one.");
        if (TransferMaxConnections is < 1 or > 4096) throw new ArgumentException($"transfer max connections {TransferMaxConnections} must be 1..4096.");
        if (TransferReadTimeout <= TimeSpan.Zero) throw new ArgumentException($"transfer read timeout must be positive, found {TransferReadTimeout}.");
        Admission?.Validate();
        if (MaximumFrameBytes is < 32_000 or > 1_000_000)
            throw new ArgumentException($"maximum frame size {MaximumFrameBytes} bytes: keep it between 32 kB and 1 MB; large payloads are chunked.");
    }
}
