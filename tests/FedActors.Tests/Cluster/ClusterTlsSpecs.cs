using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Akka.Actor;
using FedActors.Actors;
using FedActors.Actors.Cluster;
using FedActors.Actors.Coordination;
using FedActors.Actors.Hosting;
using FedActors.Host.Configuration;
using FedActors.Training.Experiments;
using Microsoft.Extensions.Hosting;

namespace FedActors.Tests.Cluster;

/// <summary>Mutual TLS for remoting: the certificate set <c>fedactors certs</c> writes, the check every handshake runs, and a loopback cluster over it.</summary>
public sealed class ClusterTlsSpecs : IDisposable
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(60);
    private static readonly DateTimeOffset Now = DateTimeOffset.UtcNow;
    private readonly string _directory = Directory.CreateTempSubdirectory("fedactors-tls-").FullName;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    private string Set(string name, int nodes, int first = 1)
    {
        var directory = Path.Combine(_directory, name);
        ClusterCertificates.Create(directory, first, nodes, TimeSpan.FromDays(30), name, password: null, Now);
        return directory;
    }

    private static ClusterTlsSettings Node(string set, int node, string? authorityOf = null) =>
        ClusterTlsSettings.Load(Path.Combine(set, ClusterCertificates.NodeFile(node)), Path.Combine(authorityOf ?? set, ClusterCertificates.AuthorityFile), null);

    private static X509Certificate2 PublicPart(ClusterTlsSettings tls) => X509CertificateLoader.LoadCertificate(tls.Certificate.RawData);

    [Fact]
    public void Should_accept_only_certificates_signed_by_the_cluster_CA()
    {
        var cluster = Set("cluster-a", nodes: 2);
        var other = Set("cluster-b", nodes: 1);
        var first = Node(cluster, 1);

        Assert.Null(first.Refusal(PublicPart(Node(cluster, 2))));
        var stranger = first.Refusal(PublicPart(Node(other, 1)));
        Assert.Contains("is not signed by this cluster's CA", stranger);
        Assert.Contains("O=cluster-b", stranger); // names the certificate it refused
        Assert.Equal("it presented no certificate", first.Refusal(null));
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        using var selfSigned = new CertificateRequest("CN=fedactors node 01, O=cluster-a", key, HashAlgorithmName.SHA256)
            .CreateSelfSigned(Now.AddMinutes(-5), Now.AddDays(1));
        Assert.Contains("is not signed by this cluster's CA", first.Refusal(selfSigned)); // the same subject is not enough
    }

    [Fact]
    public void Should_refuse_a_node_certificate_its_own_authority_did_not_sign_when_loading_it_and_name_the_files()
    {
        var cluster = Set("cluster-a", nodes: 1);
        var other = Set("cluster-b", nodes: 1);

        var mismatch = Assert.Throws<ArgumentException>(() => Node(other, 1, authorityOf: cluster));
        Assert.Contains("would be refused by its own cluster", mismatch.Message);
        Assert.Contains(Path.Combine(other, "node-01.pfx"), mismatch.Message);
        var missing = Assert.Throws<ArgumentException>(() => ClusterTlsSettings.Load(Path.Combine(cluster, "node-09.pfx"), Path.Combine(cluster, "ca.crt"), null));
        Assert.Contains("node-09.pfx", missing.Message);
        Assert.Contains("no such file", missing.Message);
        var notPfx = Assert.Throws<ArgumentException>(() => ClusterTlsSettings.Load(Path.Combine(cluster, "ca.crt"), Path.Combine(cluster, "ca.crt"), null));
        Assert.Contains("as PKCS#12", notPfx.Message);
    }

    [Fact]
    public void Should_write_keys_for_their_owner_only_never_overwrite_and_add_nodes_signed_by_the_same_CA()
    {
        var cluster = Set("cluster-a", nodes: 2);
        if (!OperatingSystem.IsWindows())
            foreach (var secret in new[] { "ca.key", "node-01.pfx", "node-02.pfx" })
                Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(Path.Combine(cluster, secret)));
        var authority = File.ReadAllBytes(Path.Combine(cluster, "ca.crt"));

        var again = Assert.Throws<ArgumentException>(() => ClusterCertificates.Create(cluster, 2, 1, TimeSpan.FromDays(30), "cluster-a", null, Now));
        Assert.Contains("node-02.pfx", again.Message);
        var added = ClusterCertificates.Create(cluster, 3, 1, TimeSpan.FromDays(30), "cluster-a", null, Now);

        Assert.Equal([Path.Combine(cluster, "node-03.pfx")], added);
        Assert.Equal(authority, File.ReadAllBytes(Path.Combine(cluster, "ca.crt")));
        Assert.Null(Node(cluster, 1).Refusal(PublicPart(Node(cluster, 3))));
        File.Delete(Path.Combine(cluster, "ca.key"));
        var halfCa = Assert.Throws<ArgumentException>(() => ClusterCertificates.Create(cluster, 4, 1, TimeSpan.FromDays(30), "cluster-a", null, Now));
        Assert.Contains("ca.key' is missing", halfCa.Message);
    }

    [Fact]
    public void Should_protect_node_files_with_a_password_when_one_is_given()
    {
        var directory = Path.Combine(_directory, "protected");
        ClusterCertificates.Create(directory, 1, 1, TimeSpan.FromDays(30), "protected", "pfx-password-1234", Now);

        Assert.True(ClusterTlsSettings.Load(Path.Combine(directory, "node-01.pfx"), Path.Combine(directory, "ca.crt"), "pfx-password-1234").Certificate.HasPrivateKey);
        Assert.Throws<ArgumentException>(() => ClusterTlsSettings.Load(Path.Combine(directory, "node-01.pfx"), Path.Combine(directory, "ca.crt"), null));
    }

    [Theory]
    [InlineData("cluster.tls-certificate=node.pfx", "fedactors.cluster.tls-certificate", "without fedactors.cluster.tls-authority")]
    [InlineData("cluster.tls-authority=ca.crt", "fedactors.cluster.tls-authority", "without fedactors.cluster.tls-certificate")]
    public void Should_name_the_missing_half_of_the_tls_settings(string setting, string key, string problem)
    {
        var e = Assert.Throws<ConfigError>(() => ExperimentConfig.Load(null, [setting]));
        Assert.Contains(key, e.Message);
        Assert.Contains(problem, e.Message);
    }

    [Fact]
    public void Should_read_the_tls_files_relative_to_the_config_that_names_them()
    {
        Assert.Null(ExperimentConfig.Load(null, []).Host.Cluster.TlsCertificate);
        var file = Path.Combine(_directory, "experiment.conf");
        File.WriteAllText(file, "fedactors.cluster { tls-certificate = tls/node-01.pfx, tls-authority = tls/ca.crt }");

        var cluster = ExperimentConfig.Load(file, []).Host.Cluster;

        Assert.Equal((Path.Combine(_directory, "tls", "node-01.pfx"), Path.Combine(_directory, "tls", "ca.crt")), (cluster.TlsCertificate, cluster.TlsAuthority));
    }

    private sealed class Collector : ReceiveActor
    {
        public Collector(ConcurrentQueue<string> seen) => Receive<Akka.Event.Warning>(w => seen.Enqueue(w.Message?.ToString() ?? ""));
    }

    [Fact]
    public async Task Should_form_a_cluster_over_mutual_tls_and_refuse_a_node_whose_certificate_another_CA_signed()
    {
        var cluster = Set("cluster-a", nodes: 2);
        var other = Set("cluster-b", nodes: 1);
        var experiment = new FederatedExperiment(TinyExperiment.Settings(hospitals: 2));
        var run = new FederatedRun(new CoordinatorSettings { Rounds = 1, MinParticipants = 2, RoundTimeout = TimeSpan.FromMinutes(2), Seed = 7 },
            TinyExperiment.UnequalHospitals(experiment), experiment.InitialGlobal());
        await using var nodes = new LoopbackCluster();

        var (seed, seeds) = await nodes.StartSeedNode(new ClusterNodeSettings { Roles = [NodeRoles.Coordinator], Tls = Node(cluster, 1) }, run);
        var warnings = new ConcurrentQueue<string>();
        var seedSystem = LoopbackCluster.System(seed);
        seedSystem.EventStream.Subscribe(seedSystem.ActorOf(Props.Create(() => new Collector(warnings))), typeof(Akka.Event.Warning));
        Assert.StartsWith("akka.ssl.tcp://", seeds[0]);
        await nodes.StartNode(new ClusterNodeSettings { Roles = [NodeRoles.Worker], SeedNodes = seeds, Tls = Node(cluster, 2) }, run);
        await nodes.WaitForUp(2, Bound);

        var intruder = await nodes.StartNode(new ClusterNodeSettings { Roles = [NodeRoles.Worker], SeedNodes = seeds, Tls = Node(other, 1) }, run);
        var refusal = await TestTime.Until(() => Task.FromResult(warnings.FirstOrDefault(w => w.Contains("Refused a TLS connection"))), w => w is not null, Bound,
            "the seed refusing the TLS handshake of the node from another CA");

        Assert.Contains("is not signed by this cluster's CA", refusal);
        Assert.Contains("O=cluster-b", refusal);
        var intruderCluster = Akka.Cluster.Cluster.Get(LoopbackCluster.System(intruder));
        Assert.DoesNotContain(Akka.Cluster.Cluster.Get(seedSystem).State.Members, m => m.Address.Equals(intruderCluster.SelfAddress));
        Assert.NotEqual(Akka.Cluster.MemberStatus.Up, intruderCluster.SelfMember.Status);
    }
}
