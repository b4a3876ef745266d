using FedActors.Actors.Transfer;
using FedActors.Training.Weights;

namespace FedActors.Tests.Transfer;

/// <summary>The side channel alone: what a fetch accepts, and what it refuses, of the bytes an owner sends.</summary>
public sealed class BulkTransferServerSpecs : IDisposable
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);
    private readonly BulkTransferServer _server = new("127.0.0.1", 0);

    public void Dispose() => _server.Dispose();

    private static ModelWeights Weights(int seed)
    {
        var rng = new Random(seed);
        return new ModelWeights([
            new WeightTensor("conv.weight", [64, 3, 3, 3], Enumerable.Range(0, 64 * 27).Select(_ => rng.NextSingle()).ToArray()),
            new WeightTensor("conv.bias", [64], Enumerable.Range(0, 64).Select(_ => rng.NextSingle()).ToArray()),
        ]);
    }

    private static byte[] Blob(ModelWeights weights)
    {
        using var buffer = new MemoryStream();
        weights.WriteTo(buffer);
        return buffer.ToArray();
    }

    private Task<ModelWeights> Fetch(string hash) => Fetch(_server, hash);

    private static Task<ModelWeights> Fetch(BulkTransferServer server, string hash, byte[]? token = null) =>
        BulkTransferServer.FetchAsync(server.Endpoint, hash, token ?? server.Token, long.MaxValue, Timeout, CancellationToken.None);

    /// <summary>A connection that has sent <paramref name="bytes"/> bytes of a request and then nothing.</summary>
    private static async Task<System.Net.Sockets.TcpClient> HalfOpen(BulkTransferServer server, int bytes)
    {
        var client = new System.Net.Sockets.TcpClient { ReceiveTimeout = (int)Timeout.TotalMilliseconds };
        await client.ConnectAsync(server.LocalEndpoint);
        if (bytes > 0) await client.GetStream().WriteAsync(new byte[bytes]);
        return client;
    }

    [Fact]
    public async Task Should_deliver_the_offered_weights_under_their_content_hash()
    {
        var weights = Weights(1);
        _server.Served[weights.ContentHash] = new(() => ServedBlob.Of(Blob(weights)));

        var fetched = await Fetch(weights.ContentHash);

        Assert.Equal(weights.ContentHash, fetched.ContentHash);
        Assert.Equal(weights.Tensors.Select(t => t.Values), fetched.Tensors.Select(t => t.Values));
        Assert.Equal(weights.Tensors.Select(t => t.Shape), fetched.Tensors.Select(t => t.Shape));
    }

    [Fact]
    public async Task Should_refuse_bytes_that_changed_on_the_way()
    {
        var weights = Weights(2);
        var sound = ServedBlob.Of(Blob(weights));
        var damaged = (byte[])sound.Bytes.Clone();
        damaged[damaged.Length / 2] ^= 0x10; // inside conv.weight's values: the parse succeeds, only the checksum can tell
        _server.Served[weights.ContentHash] = new(() => sound with { Bytes = damaged });

        var e = await Assert.ThrowsAsync<InvalidDataException>(() => Fetch(weights.ContentHash));

        Assert.Contains("checksum mismatch", e.Message);
        Assert.Contains(_server.Endpoint, e.Message);
    }

    [Fact]
    public async Task Should_refuse_a_blob_that_carries_other_weights_than_asked_for()
    {
        var (asked, other) = (Weights(3), Weights(4));
        _server.Served[asked.ContentHash] = new(() => ServedBlob.Of(Blob(other)));

        var e = await Assert.ThrowsAsync<InvalidDataException>(() => Fetch(asked.ContentHash));

        Assert.Contains($"not {asked.ContentHash[..12]}", e.Message);
    }

    [Fact]
    public async Task Should_refuse_a_fetch_without_the_servers_token()
    {
        var weights = Weights(5);
        _server.Served[weights.ContentHash] = new(() => ServedBlob.Of(Blob(weights)));

        var wrong = await Assert.ThrowsAsync<WeightsTransferException>(() => Fetch(_server, weights.ContentHash, new byte[BulkTransferServer.TokenBytes]));
        var none = await Assert.ThrowsAsync<WeightsTransferException>(() => Fetch(_server, weights.ContentHash, []));

        Assert.Contains("refused", wrong.Message);
        Assert.Contains("refused", none.Message);
        Assert.Equal(2, _server.RefusedRequests);
        Assert.Equal(weights.ContentHash, (await Fetch(weights.ContentHash)).ContentHash); // the token opens it
    }

    [Fact]
    public void Should_bind_the_configured_address_rather_than_every_interface() =>
        Assert.Equal(System.Net.IPAddress.Loopback, _server.LocalEndpoint.Address);

    [Fact]
    public async Task Should_drop_a_connection_that_sends_half_a_request_after_the_read_timeout()
    {
        using var server = new BulkTransferServer("127.0.0.1", 0, readTimeout: TimeSpan.FromMilliseconds(200));
        using var client = await HalfOpen(server, 10); // of the 37-byte head

        // The server closes it: the read ends (0 bytes) instead of waiting for the client's own 30 s timeout.
        var read = await client.GetStream().ReadAsync(new byte[8]).AsTask().Within(Timeout, "the server dropping the half-sent request");

        Assert.Equal(0, read);
        await TestTime.Until(() => Task.FromResult(server.OpenConnections), open => open == 0, Timeout, "the dropped connection being counted out");
        Assert.Equal(1, server.RefusedRequests);
    }

    [Fact]
    public async Task Should_keep_connections_under_the_cap_when_300_half_open_connections_arrive_and_serve_a_fetch_after()
    {
        const int cap = 8;
        var weights = Weights(6);
        using var server = new BulkTransferServer("127.0.0.1", 0, maxConnections: cap, readTimeout: TimeSpan.FromSeconds(1));
        server.Served[weights.ContentHash] = new(() => ServedBlob.Of(Blob(weights)));
        var flood = new List<System.Net.Sockets.TcpClient>();
        try
        {
            for (var i = 0; i < 300; i++)
            {
                try { flood.Add(await HalfOpen(server, 0)); }
                catch (System.Net.Sockets.SocketException) { } // closed over the cap before the connect completed here
            }

            await TestTime.Until(() => Task.FromResult(server.ClosedOverCap + server.OpenConnections + server.RefusedRequests),
                handled => handled >= 300, Timeout, "the server handling all 300 connections (closed over the cap, open, or timed out)");
            Assert.True(server.PeakConnections <= cap, $"{server.PeakConnections} connections served at once, over the cap of {cap}");
            Assert.True(server.ClosedOverCap > 0);
            // The half-open ones that were taken time out; a fetch is then served while the other sockets stay open.
            await TestTime.Until(() => Task.FromResult(server.OpenConnections), open => open == 0, Timeout, "the half-open connections timing out");
            Assert.Equal(weights.ContentHash, (await Fetch(server, weights.ContentHash)).ContentHash);
            Assert.True(server.PeakConnections <= cap);
        }
        finally
        {
            foreach (var client in flood) client.Dispose();
        }
    }

    [Fact]
    public async Task Should_refuse_a_blob_longer_than_its_reference_allows_before_reading_it()
    {
        // A peer that announces 8 GB for a reference to 1 kB of values.
        using var liar = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        liar.Start();
        var serve = Task.Run(async () =>
        {
            using var socket = await liar.AcceptTcpClientAsync();
            var stream = socket.GetStream();
            await stream.ReadExactlyAsync(new byte[4 + BulkTransferServer.TokenBytes + 1 + 64]);
            await stream.WriteAsync(BitConverter.GetBytes(8L << 30));
            _ = await stream.ReadAsync(new byte[1]); // until the fetching side hangs up
        });
        var endpoint = $"127.0.0.1:{((System.Net.IPEndPoint)liar.LocalEndpoint).Port}";

        var e = await Assert.ThrowsAsync<WeightsTransferException>(() => BulkTransferServer.FetchAsync(endpoint, new string('a', 64), new byte[32],
            BulkTransferServer.MaxBlobBytes(1024), Timeout, CancellationToken.None));

        Assert.Contains($"announces {8L << 30} bytes", e.Message);
        Assert.Contains($"more than the {2 * 1024 + (1 << 20)} bytes", e.Message);
        await serve.Within(Timeout, "the lying peer seeing the fetch hang up");
    }
}
