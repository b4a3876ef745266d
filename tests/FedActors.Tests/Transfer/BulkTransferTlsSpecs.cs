using System.Security.Authentication;
using FedActors.Actors.Cluster;
using FedActors.Actors.Transfer;
using FedActors.Training.Weights;

namespace FedActors.Tests.Transfer;

/// <summary>The bulk channel over mutual TLS: only a peer holding a certificate of the cluster's CA gets the weights, and only from such an owner.</summary>
public sealed class BulkTransferTlsSpecs : IDisposable
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);
    private readonly string _directory = Directory.CreateTempSubdirectory("fedactors-bulk-tls-").FullName;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    private ClusterTlsSettings Node(string cluster, int node)
    {
        var set = Path.Combine(_directory, cluster);
        if (!File.Exists(Path.Combine(set, ClusterCertificates.NodeFile(node))))
            ClusterCertificates.Create(set, node, 1, TimeSpan.FromDays(1), cluster, null, DateTimeOffset.UtcNow);
        return ClusterTlsSettings.Load(Path.Combine(set, ClusterCertificates.NodeFile(node)), Path.Combine(set, ClusterCertificates.AuthorityFile), null);
    }

    private static (ModelWeights Weights, byte[] Blob) Offer(BulkTransferServer server)
    {
        var weights = new ModelWeights([new WeightTensor("w", [256], Enumerable.Range(0, 256).Select(i => i * 0.25f).ToArray())]);
        using var buffer = new MemoryStream();
        weights.WriteTo(buffer);
        server.Served[weights.ContentHash] = new(() => ServedBlob.Of(buffer.ToArray()));
        return (weights, buffer.ToArray());
    }

    private static Task<ModelWeights> Fetch(BulkTransferServer server, string hash, ClusterTlsSettings? tls) =>
        BulkTransferServer.FetchAsync(server.Endpoint, hash, server.Token, long.MaxValue, Timeout, CancellationToken.None, tls);

    [Fact]
    public async Task Should_serve_a_member_of_the_cluster_over_tls_and_refuse_a_plain_or_foreign_fetch()
    {
        using var server = new BulkTransferServer("127.0.0.1", 0, readTimeout: TimeSpan.FromSeconds(5), tls: Node("cluster-a", 1));
        var (weights, _) = Offer(server);

        var fetched = await Fetch(server, weights.ContentHash, Node("cluster-a", 2));
        Assert.Equal(weights.Tensors[0].Values, fetched.Tensors[0].Values);

        // Plain TCP, even with the right token: the server waits for a TLS handshake and the bytes are not one.
        await Assert.ThrowsAnyAsync<Exception>(() => Fetch(server, weights.ContentHash, tls: null));
        // A certificate of another CA: refused in the handshake, before any request is read.
        await Assert.ThrowsAnyAsync<Exception>(() => Fetch(server, weights.ContentHash, Node("cluster-b", 1)));
        var refused = await TestTime.Until(() => Task.FromResult(server.RefusedRequests), n => n >= 2, Timeout, "both refusals counted");
        Assert.Equal(2, refused);
        Assert.Equal(weights.ContentHash, (await Fetch(server, weights.ContentHash, Node("cluster-a", 2))).ContentHash); // still serving members
    }

    [Fact]
    public async Task Should_not_fetch_from_an_owner_whose_certificate_another_CA_signed()
    {
        using var impostor = new BulkTransferServer("127.0.0.1", 0, readTimeout: TimeSpan.FromSeconds(5), tls: Node("cluster-b", 1));
        var (weights, _) = Offer(impostor);

        await Assert.ThrowsAsync<AuthenticationException>(() => Fetch(impostor, weights.ContentHash, Node("cluster-a", 1)));
    }
}
