using Akka.Actor;
using Akka.Event;
using FedActors.Actors.Protocol;
using FedActors.Training.Weights;

namespace FedActors.Actors.Transfer;

/// <summary>
/// Fetches one blob from its owner for <see cref="WeightsTransfer"/>: over the owner node's plain TCP side
/// channel when the reference names one (<see cref="BulkTransferServer"/>), else, or if that fails, keeps at most
/// <see cref="WeightsTransferSettings.Window"/> chunk requests in flight, re-asks when
/// chunks stop coming, then parses the blob and checks its SHA-256 against the reference.
/// Reports <see cref="Fetched"/> or <see cref="Failed"/> to its parent and stops.
/// </summary>
internal sealed class WeightsFetch : ReceiveActor, IWithTimers
{
    /// <summary>Child → parent on the same node: holds the weights by reference.</summary>
    public sealed record Fetched(WeightsRef Ref, ModelWeights Weights) : INoSerializationVerificationNeeded;

    public sealed record Failed(string ContentHash, string Reason) : INoSerializationVerificationNeeded;

    private sealed record ChunkTimeout;

    private sealed record BulkFetched(ModelWeights Weights);

    private sealed record BulkFailed(string Reason);

    private readonly WeightsRef _ref;
    private readonly WeightsTransferSettings _settings;
    private readonly HashSet<long> _pending = new();
    private byte[]? _buffer;
    private long _nextOffset;
    private long _received;
    private int _attempts = 1;
    private readonly CancellationTokenSource _bulk = new();
    private readonly ILoggingAdapter _log = Context.GetLogger();

    public WeightsFetch(WeightsRef source, WeightsTransferSettings settings)
    {
        _ref = source;
        _settings = settings;
        Receive<WeightsChunk>(OnChunk);
        Receive<WeightsNotOffered>(_ => Fail($"{_ref.Owner.Path} does not offer them (released?)"));
        Receive<Terminated>(_ => Fail($"their owner {_ref.Owner.Path} is gone"));
        Receive<ChunkTimeout>(_ => OnTimeout());
        Receive<BulkFetched>(f => Verified(f.Weights));
        Receive<BulkFailed>(f =>
        {
            _log.Warning("Weights {0} not fetched over {1} ({2}); fetching them in chunks over remoting", WeightsTransfer.Short(_ref.ContentHash), _ref.BulkEndpoint, f.Reason);
            RequestChunks();
        });
    }

    public ITimerScheduler Timers { get; set; } = null!;

    public static Props Props(WeightsRef source, WeightsTransferSettings settings) =>
        Akka.Actor.Props.Create(() => new WeightsFetch(source, settings)).WithDispatcher(Dispatchers.Transfer);

    protected override void PreStart()
    {
        if (TransferPeers.Refusal(Context.System, _ref) is { } refusal)
        {
            Fail(refusal);
            return;
        }
        Context.Watch(_ref.Owner);
        if (_ref.BulkEndpoint is not null && TransferPeers.EndpointRefusal(_ref) is { } endpointRefusal)
        {
            _log.Warning("Weights {0}: not fetching over {1} ({2}); fetching them in chunks over remoting", WeightsTransfer.Short(_ref.ContentHash), _ref.BulkEndpoint, endpointRefusal);
            RequestChunks();
        }
        else if (_ref.BulkEndpoint is not null)
            BulkTransferServer.FetchAsync(_ref, _settings.ChunkTimeout, _bulk.Token, _settings.Tls)
                .PipeTo(Self, success: w => new BulkFetched(w), failure: e => new BulkFailed(e.GetBaseException().Message));
        else RequestChunks();
    }

    protected override void PostStop()
    {
        _bulk.Cancel();
        _bulk.Dispose();
    }

    private void RequestChunks()
    {
        Request(0); // the first chunk also tells the blob's size
        _nextOffset = _settings.ChunkBytes;
    }

    private void Request(long offset)
    {
        _pending.Add(offset);
        _ref.Owner.Tell(new FetchChunk(_ref.ContentHash, offset, _settings.ChunkBytes));
        Timers.StartSingleTimer("chunk", new ChunkTimeout(), _settings.ChunkTimeout);
    }

    private void OnChunk(WeightsChunk chunk)
    {
        if (chunk.ContentHash != _ref.ContentHash || !_pending.Contains(chunk.Offset)) return; // a duplicate after a re-ask
        var expected = _buffer is null ? chunk.TotalBytes : _buffer.Length;
        var length = Math.Min(_settings.ChunkBytes, expected - chunk.Offset);
        if (chunk.TotalBytes != expected || chunk.TotalBytes <= 0 || chunk.TotalBytes > Math.Min(Array.MaxLength, BulkTransferServer.MaxBlobBytes(_ref.PayloadBytes))
            || chunk.Data.Length != length)
        {
            Fail($"chunk at {chunk.Offset} has {chunk.Data.Length} of {chunk.TotalBytes} bytes, expected {length} of {expected}");
            return;
        }
        _buffer ??= new byte[chunk.TotalBytes];
        chunk.Data.CopyTo(_buffer, chunk.Offset);
        _pending.Remove(chunk.Offset);
        _received += chunk.Data.Length;
        _attempts = 1;
        if (_received == _buffer.Length)
        {
            Timers.Cancel("chunk");
            Complete(_buffer);
            return;
        }
        while (_pending.Count < _settings.Window && _nextOffset < _buffer.Length)
        {
            Request(_nextOffset);
            _nextOffset += _settings.ChunkBytes;
        }
    }

    private void OnTimeout()
    {
        if (++_attempts > _settings.MaxAttempts)
        {
            Fail($"no chunk from {_ref.Owner.Path} within {_settings.ChunkTimeout.TotalSeconds:0.#} s, {_settings.MaxAttempts} times");
            return;
        }
        foreach (var offset in _pending.ToList()) Request(offset);
    }

    private void Complete(byte[] blob)
    {
        ModelWeights weights;
        try
        {
            weights = ModelWeights.ReadFrom(new MemoryStream(blob, writable: false), $"blob from {_ref.Owner.Path}");
        }
        catch (Exception e) when (e is InvalidDataException or ArgumentException)
        {
            Fail(e.Message);
            return;
        }
        Verified(weights);
    }

    /// <summary>Parsed and consistent with its own stored hash: it must also be the blob that was asked for.</summary>
    private void Verified(ModelWeights weights)
    {
        if (weights.ContentHash != _ref.ContentHash)
        {
            Fail($"the blob from {_ref.Owner.Path} holds weights {WeightsTransfer.Short(weights.ContentHash)}");
            return;
        }
        Context.Parent.Tell(new Fetched(_ref, weights));
        Context.Stop(Self);
    }

    private void Fail(string reason)
    {
        Context.Parent.Tell(new Failed(_ref.ContentHash, reason));
        Context.Stop(Self);
    }
}
