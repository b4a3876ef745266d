namespace FedActors.Host.Configuration;

/// <summary>
/// How a cluster node finds the others (<c>fedactors.cluster.discovery</c> and the bootstrap keys beside it): from static
/// seed addresses (<c>node --seed</c>, the default), or, without seeds, through Akka.Management's HTTP endpoint and
/// ClusterBootstrap over a discovery method: the Kubernetes API (pods by label) or a fixed list of management endpoints.
/// </summary>
public sealed record ClusterFormationSettings
{
    /// <summary><c>discovery = seeds</c>: join the <c>--seed</c> addresses (or itself), as before discovery existed.</summary>
    public const string Seeds = "seeds";

    /// <summary><c>discovery = kubernetes-api</c>: contact points are the Running pods whose labels match <see cref="PodLabelSelector"/>.</summary>
    public const string KubernetesApi = "kubernetes-api";

    /// <summary><c>discovery = config</c>: contact points are <see cref="Endpoints"/>.</summary>
    public const string ConfigEndpoints = "config";

    /// <summary>The name of the management port in the Kubernetes manifests' containers, which Kubernetes API discovery reads a pod's port from.</summary>
    public const string ManagementPortName = "management";

    /// <summary>How the node finds the cluster (<c>fedactors.cluster.discovery</c>): <see cref="Seeds"/> (default), <see cref="KubernetesApi"/> or <see cref="ConfigEndpoints"/>.</summary>
    public string Discovery { get; init; } = Seeds;

    /// <summary>
    /// Akka.Management's HTTP port (<c>fedactors.cluster.management-port</c>, 1 to 65535, default 8558) with discovery: other
    /// nodes' bootstrap probes it, and Kubernetes' readiness and liveness checks. Unused with <see cref="Seeds"/>.
    /// </summary>
    public int ManagementPort { get; init; } = 8558;

    /// <summary>
    /// The service discovery looks up (<c>fedactors.cluster.service-name</c>, default <c>fedactors</c>): with
    /// <see cref="KubernetesApi"/> the value of the pods' label <see cref="PodLabel"/>; with <see cref="ConfigEndpoints"/> the name of the endpoints list.
    /// </summary>
    public string ServiceName { get; init; } = "fedactors";

    /// <summary>
    /// The label whose value is <see cref="ServiceName"/> on every pod of this cluster, with <see cref="KubernetesApi"/>
    /// (<c>fedactors.cluster.pod-label</c>, default <c>app</c>): the pods found are those matching <c>pod-label=service-name</c>.
    /// </summary>
    public string PodLabel { get; init; } = "app";

    /// <summary>
    /// How many contact points must be discovered and answer before the one with the lowest address forms a new cluster
    /// (<c>fedactors.cluster.required-contact-points</c>, 1 to 1000, default 2); nodes found later join it.
    /// </summary>
    public int RequiredContactPoints { get; init; } = 2;

    /// <summary>Every node's management endpoint, <c>host:port</c>, this node's included, with <see cref="ConfigEndpoints"/> (<c>fedactors.cluster.discovery-endpoints</c>, default empty).</summary>
    public IReadOnlyList<string> Endpoints { get; init; } = [];

    /// <summary>
    /// How long a node started with discovery may take to be Up in a cluster before it stops with a message naming what discovery
    /// found (<c>fedactors.cluster.bootstrap-timeout</c>, default 5 minutes).
    /// </summary>
    public TimeSpan BootstrapTimeout { get; init; } = TimeSpan.FromMinutes(5);

    /// <summary>Whether the node forms or joins its cluster through Akka.Management's bootstrap rather than seed addresses.</summary>
    public bool UsesBootstrap => Discovery != Seeds;

    /// <summary>The label selector the Kubernetes API is asked with: <c>pod-label=service-name</c>.</summary>
    public string LabelSelector => $"{PodLabel}={ServiceName}";

    /// <summary>Splits <c>host:port</c> (IPv6 hosts in brackets, <c>[::1]:8558</c>).</summary>
    /// <param name="endpoint">The endpoint text.</param>
    /// <returns>The host and the port, or null if it is not <c>host:port</c> with a port of 1 to 65535.</returns>
    public static (string Host, int Port)? ParseEndpoint(string endpoint)
    {
        var colon = endpoint.LastIndexOf(':');
        if (colon <= 0 || colon == endpoint.Length - 1) return null;
        var host = endpoint[..colon];
        if (host.Contains(':') && !(host.StartsWith('[') && host.EndsWith(']'))) return null;
        if (host.Any(char.IsWhiteSpace)) return null;
        return int.TryParse(endpoint[(colon + 1)..], System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var port)
               && port is >= 1 and <= 65535
            ? (host, port)
            : null;
    }

    /// <summary>Reads and checks the discovery keys of <c>fedactors.cluster</c>.</summary>
    /// <exception cref="ConfigError">A key is out of range or malformed, or <c>config</c> discovery lists no endpoints, a malformed or repeated one, or fewer than <c>required-contact-points</c>.</exception>
    internal static ClusterFormationSettings Read(ConfigReader reader)
    {
        const string endpointsKey = "fedactors.cluster.discovery-endpoints";
        var settings = new ClusterFormationSettings
        {
            Discovery = reader.OneOf("fedactors.cluster.discovery", Seeds, KubernetesApi, ConfigEndpoints),
            ManagementPort = reader.Int("fedactors.cluster.management-port", 1, 65535),
            ServiceName = reader.String("fedactors.cluster.service-name"),
            PodLabel = reader.String("fedactors.cluster.pod-label"),
            RequiredContactPoints = reader.Int("fedactors.cluster.required-contact-points", 1, 1000),
            Endpoints = reader.StringList(endpointsKey),
            BootstrapTimeout = reader.Duration("fedactors.cluster.bootstrap-timeout"),
        };
        // A Kubernetes label value and a HOCON key alike: a DNS label.
        if (!System.Text.RegularExpressions.Regex.IsMatch(settings.ServiceName, "^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$"))
            throw reader.Error("fedactors.cluster.service-name", "must be lower-case letters, digits and '-' (a DNS label, as a Kubernetes label value is)");
        // A Kubernetes label key: an optional DNS-subdomain prefix and '/', then a name.
        if (!System.Text.RegularExpressions.Regex.IsMatch(settings.PodLabel, "^([a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$"))
            throw reader.Error("fedactors.cluster.pod-label", "must be a Kubernetes label key such as app or app.kubernetes.io/name");
        foreach (var endpoint in settings.Endpoints)
            if (ParseEndpoint(endpoint) is null)
                throw reader.Error(endpointsKey, $"must list management endpoints as \"host:port\" (port 1 to 65535), found '{endpoint}'");
        if (settings.Endpoints.Distinct(StringComparer.OrdinalIgnoreCase).Count() != settings.Endpoints.Count)
            throw reader.Error(endpointsKey, "lists an endpoint twice");
        if (settings.Discovery == ConfigEndpoints)
        {
            if (settings.Endpoints.Count == 0)
                throw reader.Error(endpointsKey, "is empty, but fedactors.cluster.discovery = config finds the nodes only there: list every node's " +
                                                 "management endpoint (\"host:port\", this node's included)");
            if (settings.Endpoints.Count < settings.RequiredContactPoints)
                throw reader.Error(endpointsKey, $"lists {settings.Endpoints.Count} endpoint(s), fewer than fedactors.cluster.required-contact-points " +
                                                 $"({settings.RequiredContactPoints}): the cluster would wait for nodes it can never find");
        }
        return settings;
    }
}
