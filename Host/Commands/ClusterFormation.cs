using Akka.Actor;
using Akka.Cluster;
using Akka.Discovery;
using Akka.Discovery.Config.Hosting;
using Akka.Discovery.KubernetesApi;
using Akka.Hosting;
using Akka.Management.Cluster.Bootstrap;
using FedActors.Host.Configuration;
using FedActors.Host.Runs;

namespace FedActors.Host.Commands;

/// <summary>
/// Cluster formation without static seeds (<c>fedactors.cluster.discovery = kubernetes-api | config</c>): the node serves
/// a management HTTP endpoint (<see cref="ManagementEndpoint"/>) on its <c>--hostname</c> and <c>cluster.management-port</c>, and ClusterBootstrap finds the
/// other nodes' endpoints through the discovery method, asks them for the cluster's seed nodes and joins those; when none of
/// them is in a cluster yet, the contact point with the lowest address forms it once <c>cluster.required-contact-points</c>
/// have answered and every contact point found has. Admission (<see cref="FedActors.Actors.Cluster.ClusterAdmission"/>) applies
/// after this join as after any other.
/// </summary>
public static class ClusterFormation
{
    /// <summary>The environment variables Kubernetes sets in every pod, which Kubernetes API discovery reaches the API server by.</summary>
    public static readonly IReadOnlyList<string> KubernetesVariables = ["KUBERNETES_SERVICE_HOST", "KUBERNETES_SERVICE_PORT"];

    /// <summary>
    /// Adds the discovery method and ClusterBootstrap, not started (<see cref="StartAsync"/> starts the management endpoint on
    /// <paramref name="hostname"/> and <see cref="ClusterFormationSettings.ManagementPort"/>, then the bootstrap); nothing with
    /// <see cref="ClusterFormationSettings.Seeds"/>.
    /// </summary>
    /// <param name="builder">The node's Akka.Hosting builder, with clustering and no seed nodes.</param>
    /// <param name="formation">The discovery settings.</param>
    /// <param name="hostname">The node's address (<c>--hostname</c>), which the management endpoint binds and is named by.</param>
    /// <returns><paramref name="builder"/>, for chaining.</returns>
    public static AkkaConfigurationBuilder WithClusterFormation(this AkkaConfigurationBuilder builder, ClusterFormationSettings formation, string hostname)
    {
        if (!formation.UsesBootstrap) return builder;
        // The management HTTP endpoint is ManagementEndpoint's (see there why not Akka.Management's own server); StartAsync starts it.
        if (formation.Discovery == ClusterFormationSettings.KubernetesApi)
            builder.WithKubernetesDiscovery(new KubernetesDiscoveryOptions { PodLabelSelector = $"{formation.PodLabel}={{0}}" });
        else
            builder.WithConfigDiscovery(new ConfigServiceDiscoveryOptions
            {
                Services = [new Service { Name = formation.ServiceName, Endpoints = formation.Endpoints.ToArray() }],
            });
        var bootstrap = new ClusterBootstrapOptions();
        bootstrap.ContactPointDiscovery.ServiceName = formation.ServiceName;
        bootstrap.ContactPointDiscovery.DiscoveryMethod = formation.Discovery;
        bootstrap.ContactPointDiscovery.RequiredContactPointsNr = formation.RequiredContactPoints;
        bootstrap.ContactPoint.FallbackPort = formation.ManagementPort;
        if (formation.Discovery == ClusterFormationSettings.KubernetesApi)
            bootstrap.ContactPointDiscovery.PortName = ClusterFormationSettings.ManagementPortName;
        else
            bootstrap.ContactPoint.FilterOnFallbackPort = false; // the endpoints name their own ports (several nodes may share a host)
        return builder.WithClusterBootstrap(bootstrap, autoStart: false);
    }

    /// <summary>
    /// Checks, before anything starts, that <see cref="ClusterFormationSettings.KubernetesApi"/> discovery runs where it can reach the
    /// Kubernetes API: in a pod, whose environment has <see cref="KubernetesVariables"/>.
    /// </summary>
    /// <param name="formation">The discovery settings.</param>
    /// <param name="environment">Reads an environment variable (<see cref="Environment.GetEnvironmentVariable(string)"/>).</param>
    /// <exception cref="ConfigError">Kubernetes API discovery outside a pod; the message names the key and the missing variables.</exception>
    public static void RequireReachableDiscovery(ClusterFormationSettings formation, Func<string, string?> environment)
    {
        if (formation.Discovery != ClusterFormationSettings.KubernetesApi) return;
        var missing = KubernetesVariables.Where(v => string.IsNullOrEmpty(environment(v))).ToList();
        if (missing.Count > 0)
            throw new ConfigError($"fedactors.cluster.discovery = kubernetes-api finds the nodes through the Kubernetes API, which a node reaches " +
                                  $"only inside a pod, but {string.Join(" and ", missing)} {(missing.Count == 1 ? "is" : "are")} not set: run it from " +
                                  "cluster-config/kubernetes/, or use discovery = config (discovery-endpoints) or seeds (--seed) elsewhere");
    }

    /// <summary>Starts the management endpoint (<see cref="ManagementEndpoint"/>), then the bootstrap; nothing with <see cref="ClusterFormationSettings.Seeds"/>.</summary>
    /// <param name="system">The node's started ActorSystem, built with <see cref="WithClusterFormation"/>.</param>
    /// <param name="formation">The discovery settings.</param>
    /// <param name="hostname">The node's address (<c>--hostname</c>), as given to <see cref="WithClusterFormation"/>.</param>
    /// <returns>The management endpoint's address, or null with seeds.</returns>
    /// <exception cref="ConfigError">The management endpoint could not listen (a port taken, an address not this machine's); the message names the key.</exception>
    public static async Task<Uri?> StartAsync(ActorSystem system, ClusterFormationSettings formation, string hostname)
    {
        if (!formation.UsesBootstrap) return null;
        ManagementEndpoint endpoint;
        try { endpoint = ManagementEndpoint.Start(system, hostname, formation.ManagementPort); }
        catch (System.Net.HttpListenerException e)
        {
            throw new ConfigError($"the management endpoint could not listen on {hostname}:{formation.ManagementPort} (--hostname, " +
                                  $"fedactors.cluster.management-port): {e.Message}");
        }
        await ClusterBootstrap.Get(system).Start();
        return endpoint.BaseUri;
    }

    /// <summary>
    /// Waits until this node is Up in a cluster, for at most <see cref="ClusterFormationSettings.BootstrapTimeout"/>; past it,
    /// stops with what discovery finds now and which contact points answer.
    /// </summary>
    /// <param name="self">The node's cluster.</param>
    /// <param name="formation">The discovery settings (with <see cref="ClusterFormationSettings.Seeds"/> this returns at once).</param>
    /// <param name="cancel">Ends the wait early (an <see cref="OperationCanceledException"/>).</param>
    /// <returns>Whether the node is Up (false: its ActorSystem terminated first).</returns>
    /// <exception cref="ConfigError">Not Up within the timeout; the message names the keys and the contact points found.</exception>
    public static async Task<bool> WaitUntilUpAsync(Akka.Cluster.Cluster self, ClusterFormationSettings formation, CancellationToken cancel)
    {
        if (!formation.UsesBootstrap) return true;
        // Told by the cluster when this member is Up (at once if it already is), not polled.
        var up = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        self.RegisterOnMemberUp(() => up.TrySetResult());
        var terminated = self.System.WhenTerminated;
        var first = await Task.WhenAny(up.Task, terminated, Task.Delay(formation.BootstrapTimeout, cancel));
        cancel.ThrowIfCancellationRequested();
        if (first == up.Task) return true;
        if (first == terminated) return false;
        throw new ConfigError(await NotUpMessage(self.System, formation));
    }

    /// <summary>Why a node is not Up after the bootstrap timeout: the keys, the contact points discovery finds, and which of them answer.</summary>
    private static async Task<string> NotUpMessage(ActorSystem system, ClusterFormationSettings formation)
    {
        var kubernetes = formation.Discovery == ClusterFormationSettings.KubernetesApi;
        var where = kubernetes
            ? $"Running pods labelled {formation.LabelSelector} (fedactors.cluster.pod-label)"
            : "fedactors.cluster.discovery-endpoints";
        string found;
        try
        {
            var resolved = await Discovery.Get(system).LoadServiceDiscovery(formation.Discovery)
                .Lookup(new Lookup(formation.ServiceName, kubernetes ? ClusterFormationSettings.ManagementPortName : null!, "tcp"), TimeSpan.FromSeconds(10));
            if (resolved.Addresses.Count == 0) found = $"found no contact point among {where}";
            else
            {
                using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(3) };
                var probes = await Task.WhenAll(resolved.Addresses.Select(async target =>
                {
                    var endpoint = $"{target.Host}:{target.Port ?? formation.ManagementPort}";
                    try
                    {
                        using var response = await http.GetAsync($"http://{endpoint}/bootstrap/seed-nodes");
                        return $"{endpoint} {(response.IsSuccessStatusCode ? "answered" : $"answered {(int)response.StatusCode}")}";
                    }
                    catch (Exception e) when (e is HttpRequestException or TaskCanceledException) { return $"{endpoint} did not answer"; }
                }));
                found = $"found {resolved.Addresses.Count} contact point(s) among {where}: {string.Join(", ", probes)}";
            }
        }
        catch (Exception e) { found = $"could not look up contact points ({e.GetBaseException().Message})"; }
        return $"this node was not Up in a cluster within fedactors.cluster.bootstrap-timeout ({WorkerQuorum.Format(formation.BootstrapTimeout)}): " +
               $"discovery {formation.Discovery} (fedactors.cluster.discovery) for service '{formation.ServiceName}' (fedactors.cluster.service-name) {found}. " +
               $"A cluster forms once every contact point found answers on its management port (fedactors.cluster.management-port, " +
               $"{formation.ManagementPort}) and at least fedactors.cluster.required-contact-points ({formation.RequiredContactPoints}) do: check " +
               (kubernetes ? "the pods' label, the service account's permission to list pods, and that the pods reach each other" : "discovery-endpoints on every node");
    }
}
