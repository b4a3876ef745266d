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

    private Task<ModelWeights> Fetch(string hash) => BulkTransferServer.FetchAsync(_server.Endpoint, hash, Timeout, CancellationToken.None);

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
}
