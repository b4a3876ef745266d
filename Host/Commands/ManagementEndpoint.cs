using System.Collections.Immutable;
using System.Net;
using Akka.Actor;
using Akka.Cluster;
using Akka.Management.Cluster.Bootstrap;
using Akka.Management.Cluster.Bootstrap.ContactPoint;
using Akka.Management.Dsl;
using Newtonsoft.Json;

namespace FedActors.Host.Commands;

/// <summary>
/// A node's management HTTP endpoint: the route ClusterBootstrap's contact-point protocol asks other nodes
/// (<c>GET /bootstrap/seed-nodes</c>, answered with Akka.Management's own JSON types, as its route answers), and the two
/// Kubernetes probes (<c>GET /ready</c>: 200 once this node is Up in a cluster, else 503; <c>GET /alive</c>: 200).
/// </summary>
/// <remarks>
/// Akka.Management's own HTTP server (Akka.Http.Shim 1.5.73) is built against Ceen.Httpd 0.9.9's
/// <c>HttpServer.ListenAsync(IPEndPoint, …)</c>; the only Ceen.Httpd the package registry serves is 0.9.10, whose method takes an
/// <c>EndPoint</c>, so <c>AkkaManagement.Start()</c> fails with MissingMethodException. ClusterBootstrap supports binding its
/// route elsewhere ("if binding bootstrap routes manually and not via akka-management"): this endpoint does, on .NET's
/// <see cref="HttpListener"/>, and hands the bootstrap its own address through <see cref="ClusterBootstrap.Routes"/>.
/// </remarks>
public sealed class ManagementEndpoint : IDisposable
{
    /// <summary>The contact-point route of ClusterBootstrap's protocol.</summary>
    public const string SeedNodesPath = "/bootstrap/seed-nodes";

    /// <summary>The readiness probe's path: 200 once this node is Up in a cluster, 503 before.</summary>
    public const string ReadyPath = "/ready";

    /// <summary>The liveness probe's path: 200 while the node serves.</summary>
    public const string AlivePath = "/alive";

    /// <summary>How many members a contact point names at most (Akka.Management's <c>MaxSeedNodesToExpose</c>).</summary>
    private const int MaxSeedNodesToExpose = 5;

    private readonly HttpListener _listener = new();
    private readonly Akka.Cluster.Cluster _cluster;

    /// <summary>The endpoint's address, <c>http://host:port/</c>: the node's contact point.</summary>
    public Uri BaseUri { get; }

    private ManagementEndpoint(ActorSystem system, string host, int port)
    {
        _cluster = Akka.Cluster.Cluster.Get(system);
        var uriHost = IPAddress.TryParse(host, out var ip) && ip.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6 ? $"[{ip}]" : host;
        BaseUri = new Uri($"http://{uriHost}:{port}/");
        // An IP address binds that address only (nodes on one machine may share the port on their own addresses, as pods do
        // on theirs); a host name binds every address.
        _listener.Prefixes.Add(ip is null ? $"http://*:{port}/" : BaseUri.ToString());
        _listener.Start();
        _ = Task.Run(ServeAsync);
    }

    /// <summary>Starts serving on <paramref name="host"/>:<paramref name="port"/> and gives ClusterBootstrap its contact point; stops when the actor system terminates.</summary>
    /// <param name="system">The node's ActorSystem, with clustering.</param>
    /// <param name="host">The node's address (<c>--hostname</c>).</param>
    /// <param name="port">The management port (<c>fedactors.cluster.management-port</c>).</param>
    /// <returns>The started endpoint.</returns>
    /// <exception cref="HttpListenerException">The address and port cannot be listened on.</exception>
    public static ManagementEndpoint Start(ActorSystem system, string host, int port)
    {
        var endpoint = new ManagementEndpoint(system, host, port);
        system.RegisterOnTermination(endpoint.Dispose);
        ClusterBootstrap.Get(system).Routes(ManagementRouteProviderSettings.Create(endpoint.BaseUri, true));
        return endpoint;
    }

    private async Task ServeAsync()
    {
        while (_listener.IsListening)
        {
            HttpListenerContext context;
            try { context = await _listener.GetContextAsync(); }
            catch (Exception e) when (e is HttpListenerException or ObjectDisposedException or InvalidOperationException) { return; }
            _ = Task.Run(() => Answer(context));
        }
    }

    private void Answer(HttpListenerContext context)
    {
        using var response = context.Response;
        try
        {
            var (status, body) = context.Request.HttpMethod != "GET"
                ? (405, "")
                : context.Request.Url?.AbsolutePath switch
                {
                    SeedNodesPath => (200, SeedNodes()),
                    ReadyPath => _cluster.SelfMember.Status == MemberStatus.Up ? (200, "up") : (503, _cluster.SelfMember.Status.ToString().ToLowerInvariant()),
                    AlivePath => (200, "alive"),
                    _ => (404, ""),
                };
            response.StatusCode = status;
            response.ContentType = status == 200 && context.Request.Url?.AbsolutePath == SeedNodesPath ? "application/json" : "text/plain";
            var bytes = System.Text.Encoding.UTF8.GetBytes(body);
            response.ContentLength64 = bytes.Length;
            response.OutputStream.Write(bytes);
        }
        catch (Exception e) when (e is HttpListenerException or IOException or ObjectDisposedException) { /* the asker went away */ }
    }

    /// <summary>What Akka.Management's seed-nodes route answers: this node, and up to 5 reachable members that are Up, WeaklyUp or Joining.</summary>
    private string SeedNodes()
    {
        var self = _cluster.SelfMember;
        if (self.Status is MemberStatus.Down or MemberStatus.Exiting or MemberStatus.Leaving or MemberStatus.Removed)
            return JsonConvert.SerializeObject(new HttpBootstrapJsonProtocol.SeedNodes(self.UniqueAddress.Address, ImmutableList<HttpBootstrapJsonProtocol.ClusterMember>.Empty));
        var state = _cluster.State;
        var members = state.Members
            .Where(m => !state.Unreachable.Contains(m) && m.Status is MemberStatus.Up or MemberStatus.WeaklyUp or MemberStatus.Joining)
            .Take(MaxSeedNodesToExpose)
            .Select(m => new HttpBootstrapJsonProtocol.ClusterMember(m.UniqueAddress.Address, m.UniqueAddress.Uid, m.Status, m.Roles))
            .ToImmutableList();
        return JsonConvert.SerializeObject(new HttpBootstrapJsonProtocol.SeedNodes(self.UniqueAddress.Address, members));
    }

    /// <summary>Stops listening.</summary>
    public void Dispose()
    {
        try { _listener.Close(); }
        catch (ObjectDisposedException) { }
    }
}
