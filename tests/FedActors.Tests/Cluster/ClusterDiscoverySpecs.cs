using System.Collections.Concurrent;
using Akka.Actor;
using FedActors.Actors.Cluster;
using FedActors.Actors.Coordination;
using FedActors.Actors.Hosting;
using FedActors.Actors.Protocol;
using FedActors.Host.Commands;
using FedActors.Host.Configuration;
using FedActors.Training.Experiments;
using Microsoft.Extensions.Hosting;

namespace FedActors.Tests.Cluster;

/// <summary>
/// Cluster formation without seeds (<c>fedactors.cluster.discovery</c>): Akka.Management's bootstrap over config discovery on
/// loopback, as Kubernetes API discovery does it over pods. Each node has an address of its own in 127.0.0.0/8 and the same
/// management port, as pods have their own IPs and one port: no port is chosen beforehand as "free" (127.27.x.y is this
/// class's own range; Linux routes all of 127.0.0.0/8 to the loopback interface).
/// </summary>
public sealed class ClusterDiscoverySpecs
{
    private const string Secret = "correct horse battery staple";
    private const int ManagementPort = 8558;

    private static FederatedRun Run(FederatedExperiment experiment, int rounds) => new(
        new CoordinatorSettings { Rounds = rounds, MinParticipants = experiment.Settings.Hospitals, RoundTimeout = TimeSpan.FromMinutes(2), Seed = 7 },
        TinyExperiment.UnequalHospitals(experiment),
        experiment.InitialGlobal());

    private static ClusterAdmissionSettings Admission(string secret) => new("run-a", ClusterAdmissionSettings.KeyOf(secret));

    private static ClusterFormationSettings ConfigDiscovery(int required, params string[] hosts) => new()
    {
        Discovery = ClusterFormationSettings.ConfigEndpoints,
        ManagementPort = ManagementPort,
        RequiredContactPoints = required,
        Endpoints = hosts.Select(h => $"{h}:{ManagementPort}").ToList(),
        BootstrapTimeout = TimeSpan.FromSeconds(3),
    };

    /// <summary>Starts a node with no seed and no self-join: Akka.Management's bootstrap alone brings it into a cluster.</summary>
    private static async Task<IHost> StartDiscoveringNode(LoopbackCluster cluster, string host, string[] roles, ClusterFormationSettings formation,
        FederatedRun run, string secret = Secret)
    {
        var node = await cluster.StartNode(new ClusterNodeSettings { Hostname = host, Port = 0, Roles = roles, SeedNodes = [], Admission = Admission(secret) },
            run, akka => akka.WithClusterFormation(formation, host));
        var endpoint = await ClusterFormation.StartAsync(LoopbackCluster.System(node), formation, host);
        Assert.Equal((host, ManagementPort), (endpoint?.Host, endpoint?.Port));
        return node;
    }

    private static Address AddressOf(IHost node) => Akka.Cluster.Cluster.Get(LoopbackCluster.System(node)).SelfAddress;

    private static async Task<string> FinalModel(IHost coordinator, FederatedRun run)
    {
        var completed = await LoopbackCluster.Registry(coordinator).Get<RoundCoordinator>()
            .AskWithin<RunCompleted>(StartRun.Instance, TimeSpan.FromMinutes(3), "the run completing");
        Assert.All(completed.Rounds, r => Assert.Equal(run.Hospitals.Count, r.Aggregated.Count));
        return completed.FinalGlobal.ContentHash;
    }

    [Fact]
    public async Task Should_form_one_cluster_of_three_nodes_through_config_discovery_without_seeds_and_end_on_the_seed_runs_model()
    {
        var experiment = new FederatedExperiment(TinyExperiment.Settings(hospitals: 4));
        var run = Run(experiment, rounds: 2);
        string[] hosts = ["127.27.0.1", "127.27.0.2", "127.27.0.3"];
        var formation = ConfigDiscovery(required: 3, hosts);

        string overDiscovery;
        await using (var cluster = new LoopbackCluster())
        {
            // The worker with the highest address first: the node that forms the cluster is the lowest-addressed contact point, whenever it comes.
            var workerB = await StartDiscoveringNode(cluster, hosts[2], [NodeRoles.Worker], formation, run);
            var workerA = await StartDiscoveringNode(cluster, hosts[1], [NodeRoles.Worker], formation, run);
            var coordinator = await StartDiscoveringNode(cluster, hosts[0], [NodeRoles.Coordinator], formation, run);
            await cluster.WaitForUp(3, TimeSpan.FromSeconds(60));

            // One cluster: every node sees the same three members, all Up, and no node is outside it.
            var addresses = new[] { coordinator, workerA, workerB }.Select(AddressOf).OrderBy(a => a.ToString()).ToList();
            foreach (var node in cluster.Nodes)
            {
                var members = Akka.Cluster.Cluster.Get(LoopbackCluster.System(node)).State.Members;
                Assert.Equal(addresses, members.Select(m => m.Address).OrderBy(a => a.ToString()).ToList());
                Assert.All(members, m => Assert.Equal(Akka.Cluster.MemberStatus.Up, m.Status));
            }
            // The lowest contact point formed it, so it is the oldest member, where the coordinator singleton lives.
            Assert.Equal(AddressOf(coordinator), Akka.Cluster.Cluster.Get(LoopbackCluster.System(workerB)).State.Members
                .OrderBy(m => m, Akka.Cluster.Member.AgeOrdering).First().Address);
            foreach (var node in cluster.Nodes)
                Assert.True(await ClusterFormation.WaitUntilUpAsync(Akka.Cluster.Cluster.Get(LoopbackCluster.System(node)), formation, CancellationToken.None));

            // Admission still applies after a join through the bootstrap: a node with another secret finds the cluster and is downed
            // (by whichever older member judges it first).
            var refusals = new ConcurrentQueue<AdmissionRefused>();
            foreach (var member in cluster.Nodes)
            {
                var watcher = LoopbackCluster.System(member).ActorOf(Props.Create(() => new Collector(refusals)));
                LoopbackCluster.System(member).EventStream.Subscribe(watcher, typeof(AdmissionRefused));
            }
            // (A coordinator-role node: it registers no shard region the run's hospitals could be placed on meanwhile.)
            var stranger = await StartDiscoveringNode(cluster, "127.27.0.4", [NodeRoles.Coordinator], ConfigDiscovery(required: 1, hosts), run,
                secret: "another secret of some length");
            await TestTime.Until(() => Task.FromResult(refusals.Any(r => r.Member.Equals(AddressOf(stranger)))
                    ? "refused"
                    : $"stranger {Akka.Cluster.Cluster.Get(LoopbackCluster.System(stranger)).SelfMember.Status}; coordinator sees " +
                      string.Join(", ", Akka.Cluster.Cluster.Get(LoopbackCluster.System(coordinator)).State.Members.Select(m => $"{m.Address.Host} {m.Status}"))),
                state => state == "refused", TimeSpan.FromSeconds(12), "the node with another secret, joined through the bootstrap, being refused");
            Assert.Contains("does not match this cluster's secret", refusals.First(r => r.Member.Equals(AddressOf(stranger))).Reason);
            await TestTime.Until(() => Task.FromResult(Akka.Cluster.Cluster.Get(LoopbackCluster.System(coordinator)).State.Members.Count),
                count => count == 3, TimeSpan.FromSeconds(60), "the refused node being removed (the value is the member count)");

            await cluster.WaitForRegions(LoopbackCluster.Registry(coordinator).Get<HospitalRegion>(), 2, TimeSpan.FromSeconds(30));
            overDiscovery = await FinalModel(coordinator, run);
        }

        // The same experiment on a cluster formed from a seed address.
        await using (var cluster = new LoopbackCluster())
        {
            var (coordinator, seeds) = await cluster.StartSeedNode(new ClusterNodeSettings { Roles = [NodeRoles.Coordinator] }, run);
            await cluster.StartNode(new ClusterNodeSettings { Roles = [NodeRoles.Worker], SeedNodes = seeds }, run);
            await cluster.StartNode(new ClusterNodeSettings { Roles = [NodeRoles.Worker], SeedNodes = seeds }, run);
            await cluster.WaitForUp(3, TimeSpan.FromSeconds(30));
            await cluster.WaitForRegions(LoopbackCluster.Registry(coordinator).Get<HospitalRegion>(), 2, TimeSpan.FromSeconds(30));
            Assert.Equal(await FinalModel(coordinator, run), overDiscovery);
        }
    }

    [Fact]
    public async Task Should_stop_a_node_whose_contact_points_do_not_all_answer_naming_the_keys_and_the_silent_endpoint()
    {
        var experiment = new FederatedExperiment(TinyExperiment.Settings(hospitals: 2));
        var run = Run(experiment, rounds: 1);
        // 127.27.1.2 runs no node: the bootstrap waits for it, so the node never forms a cluster.
        var formation = ConfigDiscovery(required: 2, "127.27.1.1", "127.27.1.2");
        await using var cluster = new LoopbackCluster();
        var lonely = await StartDiscoveringNode(cluster, "127.27.1.1", [NodeRoles.Coordinator, NodeRoles.Worker], formation, run);

        var e = await Assert.ThrowsAsync<ConfigError>(() =>
            ClusterFormation.WaitUntilUpAsync(Akka.Cluster.Cluster.Get(LoopbackCluster.System(lonely)), formation, CancellationToken.None)
                .Within(TimeSpan.FromSeconds(60), "the bootstrap timeout"));

        Assert.Contains("not Up in a cluster within fedactors.cluster.bootstrap-timeout (3s)", e.Message);
        Assert.Contains("discovery config (fedactors.cluster.discovery)", e.Message);
        Assert.Contains("found 2 contact point(s) among fedactors.cluster.discovery-endpoints", e.Message);
        Assert.Contains("127.27.1.1:8558 answered", e.Message);
        Assert.Contains("127.27.1.2:8558 did not answer", e.Message);
        Assert.Contains("fedactors.cluster.required-contact-points (2)", e.Message);
        Assert.NotEqual(Akka.Cluster.MemberStatus.Up, Akka.Cluster.Cluster.Get(LoopbackCluster.System(lonely)).SelfMember.Status);
    }

    [Fact]
    public void Should_keep_seeds_by_default_and_read_the_discovery_keys()
    {
        var defaults = ExperimentConfig.Load(null, []).Host.Cluster.Formation;
        Assert.Equal(ClusterFormationSettings.Seeds, defaults.Discovery);
        Assert.False(defaults.UsesBootstrap);
        Assert.Empty(defaults.Endpoints);
        Assert.Equal(8558, defaults.ManagementPort);
        Assert.Equal(2, defaults.RequiredContactPoints);
        Assert.Equal(TimeSpan.FromMinutes(5), defaults.BootstrapTimeout);
        Assert.Equal("app=fedactors", defaults.LabelSelector);

        var set = ExperimentConfig.Load(null, ["cluster.discovery=config", "cluster.management-port=9000", "cluster.service-name=fl-run",
            "cluster.required-contact-points=3", "cluster.discovery-endpoints=[\"10.0.0.1:9000\", \"10.0.0.2:9000\", \"[::1]:9001\"]",
            "cluster.bootstrap-timeout=90s", "cluster.pod-label=app.kubernetes.io/name"]).Host.Cluster.Formation;
        Assert.True(set.UsesBootstrap);
        Assert.Equal(9000, set.ManagementPort);
        Assert.Equal(3, set.RequiredContactPoints);
        Assert.Equal(["10.0.0.1:9000", "10.0.0.2:9000", "[::1]:9001"], set.Endpoints);
        Assert.Equal(TimeSpan.FromSeconds(90), set.BootstrapTimeout);
        Assert.Equal("app.kubernetes.io/name=fl-run", set.LabelSelector);
        Assert.Equal(("[::1]", 9001), ClusterFormationSettings.ParseEndpoint("[::1]:9001"));
    }

    [Theory]
    [InlineData("cluster.discovery=dns", "fedactors.cluster.discovery", "one of seeds, kubernetes-api, config")]
    [InlineData("cluster.management-port=0", "fedactors.cluster.management-port", "between 1 and 65535")]
    [InlineData("cluster.service-name=Fed_Actors", "fedactors.cluster.service-name", "a DNS label")]
    [InlineData("cluster.pod-label=\"app=x\"", "fedactors.cluster.pod-label", "a Kubernetes label key")]
    [InlineData("cluster.required-contact-points=0", "fedactors.cluster.required-contact-points", "between 1 and 1000")]
    [InlineData("cluster.bootstrap-timeout=0s", "fedactors.cluster.bootstrap-timeout", "positive")]
    [InlineData("cluster.discovery=config", "fedactors.cluster.discovery-endpoints", "is empty, but fedactors.cluster.discovery = config")]
    [InlineData("cluster.discovery-endpoints=[\"10.0.0.1\"]", "fedactors.cluster.discovery-endpoints", "\"host:port\"")]
    [InlineData("cluster.discovery-endpoints=[\"10.0.0.1:0\"]", "fedactors.cluster.discovery-endpoints", "\"host:port\"")]
    [InlineData("cluster.discovery-endpoints=[\"::1:8558\"]", "fedactors.cluster.discovery-endpoints", "\"host:port\"")]
    [InlineData("cluster.discovery-endpoints=[\"a:1\", \"a:1\"]", "fedactors.cluster.discovery-endpoints", "twice")]
    public void Should_name_the_key_of_a_bad_discovery_setting(string setting, string key, string problem)
    {
        var e = Assert.Throws<ConfigError>(() => ExperimentConfig.Load(null, [setting]));
        Assert.Contains(key, e.Message);
        Assert.Contains(problem, e.Message);
    }

    [Fact]
    public void Should_refuse_config_discovery_with_fewer_endpoints_than_required_contact_points()
    {
        var e = Assert.Throws<ConfigError>(() => ExperimentConfig.Load(null,
            ["cluster.discovery=config", "cluster.required-contact-points=3", "cluster.discovery-endpoints=[\"10.0.0.1:8558\", \"10.0.0.2:8558\"]"]));
        Assert.Contains("fedactors.cluster.discovery-endpoints", e.Message);
        Assert.Contains("lists 2 endpoint(s), fewer than fedactors.cluster.required-contact-points (3)", e.Message);
    }

    [Fact]
    public void Should_refuse_kubernetes_api_discovery_outside_a_pod_naming_the_key_and_the_missing_variables()
    {
        var kubernetes = new ClusterFormationSettings { Discovery = ClusterFormationSettings.KubernetesApi };
        var e = Assert.Throws<ConfigError>(() => ClusterFormation.RequireReachableDiscovery(kubernetes, _ => null));
        Assert.Contains("fedactors.cluster.discovery = kubernetes-api", e.Message);
        Assert.Contains("KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT are not set", e.Message);
        var inPod = new Dictionary<string, string> { ["KUBERNETES_SERVICE_HOST"] = "10.96.0.1", ["KUBERNETES_SERVICE_PORT"] = "443" };
        ClusterFormation.RequireReachableDiscovery(kubernetes, v => inPod.GetValueOrDefault(v));
        ClusterFormation.RequireReachableDiscovery(new ClusterFormationSettings(), _ => null); // seeds need no API server
    }

    /// <summary>Collects what a node publishes on its event stream.</summary>
    private sealed class Collector : ReceiveActor
    {
        public Collector(ConcurrentQueue<AdmissionRefused> seen) => Receive<AdmissionRefused>(seen.Enqueue);
    }
}
