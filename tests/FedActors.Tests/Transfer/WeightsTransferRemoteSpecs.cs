using System.Diagnostics;
using Akka.Actor;
using Akka.Remote;
using Akka.TestKit.TestActors;
using FedActors.Actors;
using FedActors.Actors.Protocol;
using FedActors.Actors.Serialization;
using FedActors.Actors.Transfer;
using FedActors.Training.Weights;
using Xunit.Abstractions;

namespace FedActors.Tests.Transfer;

/// <summary>
/// Two ActorSystems on loopback with 1 MB remoting frames: the test kit's system is the
/// receiving node, <see cref="_owner"/> the node that offers the weights.
/// </summary>
public class WeightsTransferRemoteSpecs : Akka.TestKit.Xunit2.TestKit
{
    private const string RemoteHocon = """
        akka.actor.provider = remote
        akka.remote.dot-netty.tcp {
          hostname = 127.0.0.1
          port = 0
          maximum-frame-size = 1000000b
        }
        """;

    private static readonly TimeSpan Timeout = TestTime.Dilated(TimeSpan.FromSeconds(30));
    private readonly ActorSystem _owner;
    private readonly ITestOutputHelper _output;

    public WeightsTransferRemoteSpecs(ITestOutputHelper output) : base(NodeConfig, "receiver", output)
    {
        _output = output;
        _owner = ActorSystem.Create("owner", NodeConfig);
    }

    private static string NodeConfig => $"{RemoteHocon}\n{TestTime.AkkaTestHocon}\n{Dispatchers.Hocon(1)}\n{FedActorsSerializer.Hocon}";

    private Address OwnerAddress => ((ExtendedActorSystem)_owner).Provider.DefaultAddress;

    protected override void AfterAll()
    {
        Shutdown(_owner);
        base.AfterAll();
    }

    /// <summary>The layer sizes of ResNet-18 (11.7 M floats, 46.7 MB), filled with seeded noise.</summary>
    private static ModelWeights ResNet18Sized()
    {
        int[] sizes = [9408, 36864, 36864, 36864, 36864, 73728, 147456, 147456, 147456, 8192,
            294912, 589824, 589824, 589824, 32768, 1179648, 2359296, 2359296, 2359296, 131072, 512000, 1000];
        var rng = new Random(18);
        return new ModelWeights(sizes.Select((n, i) =>
        {
            var values = new float[n];
            for (var k = 0; k < n; k++) values[k] = rng.NextSingle() - 0.5f;
            return new WeightTensor($"layer{i}.weight", [n], values);
        }).ToList());
    }

    /// <summary>Sends a reference from the owner node to this one, so it arrives as a remoting message does.</summary>
    private WeightsRef ShipToReceiver(WeightsRef reference)
    {
        var receiver = _owner.ActorSelection(TestActor.Path.ToStringWithAddress(((ExtendedActorSystem)Sys).Provider.DefaultAddress));
        receiver.Tell(reference);
        var shipped = ExpectMsg<WeightsRef>();
        Assert.Equal(OwnerAddress, shipped.Owner.Path.Address);
        return shipped;
    }

    [Fact]
    public async Task Should_move_resnet18_sized_weights_between_nodes_intact_while_other_messages_flow()
    {
        var weights = ResNet18Sized();
        Assert.True(weights.PayloadBytes > 45_000_000);
        var ownerTransfer = _owner.ActorOf(WeightsTransfer.Props(), "weights-transfer");
        var echo = _owner.ActorOf(SimpleEchoActor.Props(), "echo");
        var transfer = Sys.ActorOf(WeightsTransfer.Props(), "weights-transfer");
        // The owner's chunks pass through a tap that keeps back the second half until told: the transfer is then
        // certainly still under way (the first half's chunks on the link) when a message is sent beside it.
        var chunks = CreateTestProbe();
        var tap = _owner.ActorOf(ChunkTap.Props(ownerTransfer, chunks, holdFrom: weights.PayloadBytes / 2), "tap");
        var reference = ShipToReceiver((await ownerTransfer.OfferAsync(weights, Timeout)) with { Owner = tap });
        var remoteEcho = await Sys.ActorSelection(echo.Path.ToStringWithAddress(OwnerAddress)).ResolveOne(Timeout);
        var lifecycle = CreateTestProbe();
        foreach (var system in new[] { Sys, _owner })
        {
            system.EventStream.Subscribe(lifecycle, typeof(DisassociatedEvent));
            system.EventStream.Subscribe(lifecycle, typeof(AssociationErrorEvent));
        }

        var clock = Stopwatch.StartNew();
        var fetch = transfer.FetchAsync(reference, Timeout);
        var holding = await chunks.FishForMessageAsync<ChunkTap.Holding>(_ => true, Timeout);
        Assert.True(holding.ChunksPassed > 0);

        // Mid-transfer, a message to the owner's node and its answer get through: the blob does not block the link.
        Assert.Equal(42, await remoteEcho.Ask<int>(42, Timeout));
        Assert.False(fetch.IsCompleted, "the fetch ended while half of the blob was kept back");

        tap.Tell(ChunkTap.Release.Instance);
        var fetched = await fetch.Within(TimeSpan.FromSeconds(30), "fetching the second half once released");
        // A latency figure, for the log only: how fast is the benchmarks' business (bench transport), not a spec's.
        _output.WriteLine($"{weights.PayloadBytes / 1e6:F1} MB in {clock.Elapsed.TotalSeconds:F2} s; held at offset {holding.Offset} after {holding.ChunksPassed} chunks");

        Assert.NotSame(weights, fetched);
        Assert.Equal(weights.ContentHash, fetched.ContentHash);
        lifecycle.ExpectNoMsg(TimeSpan.FromMilliseconds(200));
    }

    [Fact]
    public void Should_not_carry_the_same_weights_in_a_single_frame()
    {
        var weights = new ModelWeights([new WeightTensor("w", [300_000], new float[300_000])]); // 1.2 MB
        var receiver = _owner.ActorSelection(TestActor.Path.ToStringWithAddress(((ExtendedActorSystem)Sys).Provider.DefaultAddress));
        // A run's result still carries its weights inline (it goes to a listener, on the coordinator's node).
        receiver.Tell(new RunCompleted(weights, []));
        var small = new ModelWeights([new WeightTensor("w", [1000], new float[1000])]);
        receiver.Tell(new RunCompleted(small, []));
        // Both went the same way, in order: the first to arrive is the second, so the first was dropped as oversized.
        Assert.Equal(small.ContentHash, ExpectMsg<RunCompleted>().FinalGlobal.ContentHash);
    }

    [Fact]
    public async Task Should_reject_weights_whose_chunk_was_corrupted_between_nodes()
    {
        var weights = ResNet18Sized();
        var ownerTransfer = _owner.ActorOf(WeightsTransfer.Props(), "weights-transfer");
        var tap = _owner.ActorOf(ChunkTap.Props(ownerTransfer, ActorRefs.Nobody, corruptAt: 20_000_000), "tap");
        var offered = await ownerTransfer.OfferAsync(weights, Timeout);
        var reference = ShipToReceiver(offered with { Owner = tap });
        var transfer = Sys.ActorOf(WeightsTransfer.Props(), "weights-transfer");

        var e = await Assert.ThrowsAsync<WeightsTransferException>(() => transfer.FetchAsync(reference, Timeout));
        _output.WriteLine(e.Message);
        Assert.Contains(weights.ContentHash[..12], e.Message);
        Assert.Contains("hash mismatch", e.Message);
    }

    /// <summary>A small blob, several side-channel buffers and remoting chunks long.</summary>
    private static ModelWeights ThreeMegabytes()
    {
        var rng = new Random(3);
        var values = new float[750_000];
        for (var k = 0; k < values.Length; k++) values[k] = rng.NextSingle();
        return new ModelWeights([new WeightTensor("w", [values.Length], values), new WeightTensor("b", [7], new float[7])]);
    }

    [Fact]
    public async Task Should_fetch_over_the_owners_side_channel_without_a_single_remoting_chunk()
    {
        var weights = ThreeMegabytes();
        var ownerTransfer = _owner.ActorOf(WeightsTransfer.Props(new WeightsTransferSettings { BulkHost = "127.0.0.1" }), "weights-transfer");
        var chunks = CreateTestProbe();
        var tap = _owner.ActorOf(ChunkTap.Props(ownerTransfer, chunks), "tap");
        var offered = await ownerTransfer.OfferAsync(weights, Timeout);
        Assert.StartsWith("127.0.0.1:", offered.BulkEndpoint);
        var reference = ShipToReceiver(offered with { Owner = tap });
        Assert.Equal(offered.BulkEndpoint, reference.BulkEndpoint); // the endpoint travels with the reference
        Assert.Equal(offered.BulkToken, reference.BulkToken); // and the token the side channel asks for
        var transfer = Sys.ActorOf(WeightsTransfer.Props(), "weights-transfer");

        var fetched = await transfer.FetchAsync(reference, Timeout);

        Assert.Equal(weights.ContentHash, fetched.ContentHash);
        Assert.Equal(weights.Tensors[0].Values, fetched.Tensors[0].Values);
        chunks.ExpectNoMsg(TimeSpan.FromMilliseconds(300));
    }

    [Fact]
    public async Task Should_still_deliver_weights_while_300_half_open_connections_hold_the_side_channels_cap()
    {
        var weights = ThreeMegabytes();
        var ownerTransfer = _owner.ActorOf(WeightsTransfer.Props(new WeightsTransferSettings
        {
            BulkHost = "127.0.0.1", BulkMaxConnections = 4, BulkReadTimeout = TimeSpan.FromMinutes(5),
        }), "weights-transfer");
        var offered = await ownerTransfer.OfferAsync(weights, Timeout);
        var port = int.Parse(offered.BulkEndpoint![(offered.BulkEndpoint!.LastIndexOf(':') + 1)..]);
        var flood = new List<System.Net.Sockets.TcpClient>();
        try
        {
            for (var i = 0; i < 300; i++)
            {
                var client = new System.Net.Sockets.TcpClient();
                try { await client.ConnectAsync(System.Net.IPAddress.Loopback, port); flood.Add(client); }
                catch (System.Net.Sockets.SocketException) { client.Dispose(); } // closed over the cap before the connect completed
            }
            var transfer = Sys.ActorOf(WeightsTransfer.Props(), "weights-transfer");

            // The side channel's 4 places are held for 5 minutes; the fetch is closed on arrival there and takes chunks over remoting.
            var fetched = await transfer.FetchAsync(ShipToReceiver(offered), Timeout);

            Assert.Equal(weights.ContentHash, fetched.ContentHash);
        }
        finally
        {
            foreach (var client in flood) client.Dispose();
        }
    }

    [Fact]
    public async Task Should_fall_back_to_remoting_chunks_when_the_side_channel_cannot_serve()
    {
        var weights = ThreeMegabytes();
        var ownerTransfer = _owner.ActorOf(WeightsTransfer.Props(new WeightsTransferSettings { BulkHost = "127.0.0.1" }), "weights-transfer");
        var chunks = CreateTestProbe();
        var tap = _owner.ActorOf(ChunkTap.Props(ownerTransfer, chunks), "tap");
        var offered = await ownerTransfer.OfferAsync(weights, Timeout);
        // Nothing listens there (a firewall, a node behind NAT): the fetch must still succeed.
        using var closed = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        closed.Start();
        var deadPort = ((System.Net.IPEndPoint)closed.LocalEndpoint).Port;
        closed.Stop();
        var reference = ShipToReceiver(offered with { Owner = tap, BulkEndpoint = $"127.0.0.1:{deadPort}" });
        var transfer = Sys.ActorOf(WeightsTransfer.Props(), "weights-transfer");

        var fetched = await transfer.FetchAsync(reference, Timeout);

        Assert.Equal(weights.ContentHash, fetched.ContentHash);
        chunks.ExpectMsg<FetchChunk>(Timeout);
    }

    [Fact]
    public async Task Should_stop_serving_released_weights_over_the_side_channel()
    {
        var weights = ThreeMegabytes();
        var ownerTransfer = _owner.ActorOf(WeightsTransfer.Props(new WeightsTransferSettings { BulkHost = "127.0.0.1" }), "weights-transfer");
        var offered = await ownerTransfer.OfferAsync(weights, Timeout);
        ownerTransfer.Tell(new ReleaseWeights(offered.ContentHash));
        await ownerTransfer.Ask<ActorIdentity>(new Identify(null), Timeout); // the release is handled

        var e = await Assert.ThrowsAsync<WeightsTransferException>(() =>
            BulkTransferServer.FetchAsync(offered, Timeout, CancellationToken.None));
        Assert.Contains("does not offer", e.Message);
    }
}
