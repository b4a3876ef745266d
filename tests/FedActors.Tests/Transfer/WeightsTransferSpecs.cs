using Akka.Actor;
using FedActors.Actors.Protocol;
using FedActors.Actors.Transfer;
using FedActors.Tests.Actors;
using FedActors.Training.Weights;
using Xunit.Abstractions;

namespace FedActors.Tests.Transfer;

/// <summary>Two transfer actors in one system stand for two nodes; every message still goes through the serializer.</summary>
public class WeightsTransferSpecs(ITestOutputHelper output) : ActorSpec(1, output)
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(10);
    private static readonly WeightsTransferSettings SmallChunks = new() { ChunkBytes = 1024, Window = 3 };

    /// <summary>About 40 KB serialised: dozens of 1 KB chunks.</summary>
    private static ModelWeights SomeWeights(int seed = 1)
    {
        var rng = new Random(seed);
        return new ModelWeights([
            new WeightTensor("conv.weight", [16, 3, 3, 3], Enumerable.Range(0, 432).Select(_ => rng.NextSingle()).ToArray()),
            new WeightTensor("fc.weight", [10, 900], Enumerable.Range(0, 9000).Select(_ => rng.NextSingle()).ToArray()),
            new WeightTensor("fc.bias", [10], new float[10]),
        ]);
    }

    [Fact]
    public async Task Should_resolve_a_reference_on_its_own_node_to_the_same_object()
    {
        var transfer = Sys.ActorOf(WeightsTransfer.Props());
        var weights = SomeWeights();
        var reference = await transfer.OfferAsync(weights, Timeout);

        Assert.Equal(weights.ContentHash, reference.ContentHash);
        Assert.Equal(weights.PayloadBytes, reference.PayloadBytes);
        Assert.Same(weights, await transfer.FetchAsync(reference, Timeout));
    }

    [Fact]
    public async Task Should_fetch_from_another_node_in_bounded_chunks_once_for_concurrent_requests()
    {
        var owner = Sys.ActorOf(WeightsTransfer.Props(SmallChunks));
        var receiver = Sys.ActorOf(WeightsTransfer.Props(SmallChunks));
        var requests = CreateTestProbe();
        var weights = SomeWeights();
        var reference = (await owner.OfferAsync(weights, Timeout)) with { Owner = Sys.ActorOf(ChunkTap.Props(owner, requests)) };

        var first = receiver.FetchAsync(reference, Timeout);
        var second = receiver.FetchAsync(reference, Timeout);
        var fetched = await first;

        Assert.NotSame(weights, fetched);
        Assert.Equal(weights.ContentHash, fetched.ContentHash);
        Assert.Same(fetched, await second);
        Assert.Same(fetched, await receiver.FetchAsync(reference, Timeout)); // cached: no second transfer
        var offsets = requests.ReceiveWhile(TimeSpan.FromMilliseconds(300), m => (FetchChunk)m).Select(c => c.Offset).ToList();
        Assert.True(offsets.Count > 30, $"{offsets.Count} chunks");
        Assert.Equal(offsets.Count, offsets.Distinct().Count());
    }

    [Theory]
    [InlineData(0)]      // magic number
    [InlineData(10)]     // tensor count
    [InlineData(2000)]   // inside the first tensor's values
    [InlineData(30000)]  // inside the large tensor's values
    public async Task Should_reject_a_blob_with_a_corrupted_chunk_naming_the_weights(long corruptAt)
    {
        var owner = Sys.ActorOf(WeightsTransfer.Props(SmallChunks));
        var receiver = Sys.ActorOf(WeightsTransfer.Props(SmallChunks));
        var weights = SomeWeights();
        var reference = (await owner.OfferAsync(weights, Timeout)) with { Owner = Sys.ActorOf(ChunkTap.Props(owner, CreateTestProbe(), corruptAt)) };

        var e = await Assert.ThrowsAsync<WeightsTransferException>(() => receiver.FetchAsync(reference, Timeout));
        Assert.Contains(weights.ContentHash[..12], e.Message);
    }

    [Fact]
    public async Task Should_fail_clearly_when_the_owner_no_longer_offers_the_weights()
    {
        var owner = Sys.ActorOf(WeightsTransfer.Props(SmallChunks));
        var receiver = Sys.ActorOf(WeightsTransfer.Props(SmallChunks));
        var weights = SomeWeights();
        var reference = await owner.OfferAsync(weights, Timeout);
        owner.Tell(new ReleaseWeights(weights.ContentHash));

        var e = await Assert.ThrowsAsync<WeightsTransferException>(() => receiver.FetchAsync(reference, Timeout));
        Assert.Contains("does not offer them", e.Message);
        await Assert.ThrowsAsync<WeightsTransferException>(() => owner.FetchAsync(reference, Timeout));
    }

    [Fact]
    public async Task Should_fail_when_the_owner_is_gone()
    {
        var receiver = Sys.ActorOf(WeightsTransfer.Props(SmallChunks));
        var gone = Sys.ActorOf(WeightsTransfer.Props(SmallChunks));
        Watch(gone);
        Sys.Stop(gone);
        ExpectTerminated(gone);

        var e = await Assert.ThrowsAsync<WeightsTransferException>(() =>
            receiver.FetchAsync(new WeightsRef(SomeWeights().ContentHash, 1, gone), Timeout));
        Assert.Contains("is gone", e.Message);
    }

    [Fact]
    public void Should_refuse_chunks_that_could_overflow_a_1MB_frame()
    {
        Assert.Throws<ArgumentException>(() => new WeightsTransferSettings { ChunkBytes = 512 * 1024 }.Validate());
    }
}
