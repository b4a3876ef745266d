using Akka.Actor;
using Akka.Event;
using FedActors.Actors.Protocol;
using FedActors.Training.Weights;

namespace FedActors.Actors.Transfer;

/// <summary>How weights move between nodes.</summary>
public sealed record WeightsTransferSettings
{
    /// <summary>The largest chunk served, so a chunk message stays far below a 1 MB remoting frame.</summary>
    public const int MaxChunkBytes = 256 * 1024;

    /// <summary>Bytes per chunk when fetching over remoting, 1 to <see cref="MaxChunkBytes"/> (the default).</summary>
    public int ChunkBytes { get; init; } = MaxChunkBytes;

    /// <summary>Chunk requests in flight per fetch: enough to fill the link, few enough that heartbeats are never queued behind megabytes.</summary>
    public int Window { get; init; } = 4;

    /// <summary>How long a fetch waits for the next chunk before asking again.</summary>
    public TimeSpan ChunkTimeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>How many times a fetch over remoting asks for its outstanding chunks (the first request included) with none arriving within <see cref="ChunkTimeout"/> before it fails (default 3).</summary>
    public int MaxAttempts { get; init; } = 3;

    /// <summary>Fetched (not offered) weights kept for repeat fetches on this node, least recently used dropped first.</summary>
    public int CacheCapacity { get; init; } = 4;

    /// <summary>
    /// The name other nodes reach this one by, to serve offered blobs over plain TCP beside remoting
    /// (<see cref="BulkTransferServer"/>); null: chunks over remoting only.
    /// </summary>
    public string? BulkHost { get; init; }

    /// <summary>The side channel's port; 0 = any free one (it travels in every <see cref="WeightsRef"/>).</summary>
    public int BulkPort { get; init; }

    /// <summary>The most connections the side channel serves at once; more are closed on arrival (default 64).</summary>
    public int BulkMaxConnections { get; init; } = 64;

    /// <summary>How long the side channel waits for any read or write of a connection before dropping it (default 10 s).</summary>
    public TimeSpan BulkReadTimeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>
    /// Mutual TLS on the bulk channel, both serving and fetching (the node's remoting TLS: its certificate and the cluster CA);
    /// null (the default): plain TCP, guarded by the per-server token alone.
    /// </summary>
    public FedActors.Actors.Cluster.ClusterTlsSettings? Tls { get; init; }

    /// <summary>Checks every setting's range.</summary>
    /// <exception cref="ArgumentException">A setting is out of range; the message names it.</exception>
    public void Validate()
    {
        if (ChunkBytes is <= 0 or > MaxChunkBytes) throw new ArgumentException($"ChunkBytes {ChunkBytes} must be in 1..{MaxChunkBytes}.");
        if (Window <= 0) throw new ArgumentException($"Window {Window} must be positive.");
        if (ChunkTimeout <= TimeSpan.Zero) throw new ArgumentException($"ChunkTimeout {ChunkTimeout} must be positive.");
        if (MaxAttempts <= 0) throw new ArgumentException($"MaxAttempts {MaxAttempts} must be positive.");
        if (CacheCapacity < 0) throw new ArgumentException($"CacheCapacity {CacheCapacity} must not be negative.");
        if (BulkPort is < 0 or > 65535) throw new ArgumentException($"BulkPort {BulkPort} must be in 0..65535.");
        if (BulkMaxConnections <= 0) throw new ArgumentException($"BulkMaxConnections {BulkMaxConnections} must be positive.");
        if (BulkReadTimeout <= TimeSpan.Zero) throw new ArgumentException($"BulkReadTimeout {BulkReadTimeout} must be positive.");
    }
}

/// <summary>A fetch that failed: a corrupted or missing blob, or an owner that stopped answering.</summary>
/// <param name="message">What failed, naming the weights and their owner.</param>
public sealed class WeightsTransferException(string message) : Exception(message);

/// <summary>
/// One per node: a content-addressed store of weights. Offered weights stay here (as the
/// object, serialised only when another node first asks) and travel as a small
/// <see cref="WeightsRef"/>; a node resolving a reference fetches the blob from the owner
/// over the owner node's plain TCP side channel (<see cref="BulkTransferServer"/>) when it has one, else
/// in chunks of at most 256 KB over remoting, and checks it before anyone sees it (the side channel's checksum, or
/// the SHA-256 content hash recomputed from the chunks). A reference
/// held on the node that resolves it returns the same object, without copying.
/// </summary>
public sealed class WeightsTransfer : ReceiveActor
{
    private sealed class Blob(ModelWeights weights, bool offered)
    {
        public ModelWeights Weights { get; } = weights;
        public bool Offered { get; set; } = offered;

        /// <summary>Serialised when another node first asks, over remoting or the side channel (whose threads share it).</summary>
        public Lazy<byte[]> Bytes { get; } = new(() => Serialise(weights));

        /// <summary>The same bytes with their checksum, as the side channel serves them.</summary>
        public Lazy<ServedBlob> Served => _served ??= new(() => ServedBlob.Of(Bytes.Value));

        private Lazy<ServedBlob>? _served;
    }

    private readonly WeightsTransferSettings _settings;
    private readonly ILoggingAdapter _log = Context.GetLogger();
    private readonly Dictionary<string, Blob> _blobs = new();
    private readonly LinkedList<string> _cached = new(); // fetched blobs, most recently used first
    private readonly Dictionary<string, (IActorRef Fetch, List<IActorRef> Waiting)> _fetches = new();
    private BulkTransferServer? _bulk;

    /// <summary>Creates the node's weights store.</summary>
    /// <param name="settings">Chunking, retries, cache size and the side channel; validated here.</param>
    /// <exception cref="ArgumentException"><paramref name="settings"/> is invalid.</exception>
    public WeightsTransfer(WeightsTransferSettings settings)
    {
        settings.Validate();
        _settings = settings;
        Receive<OfferWeights>(Offer);
        Receive<ReleaseWeights>(Release);
        Receive<FetchWeights>(Fetch);
        Receive<FetchChunk>(Serve);
        Receive<WeightsFetch.Fetched>(Fetched);
        Receive<WeightsFetch.Failed>(f => FailWaiters(f.ContentHash, f.Reason));
        Receive<GetWeightsHeld>(_ => Sender.Tell(new WeightsHeld(_blobs.Values.Count(b => b.Offered), _blobs.Values.Count(b => !b.Offered),
            _blobs.Values.Sum(b => b.Weights.PayloadBytes))));
        Receive<Terminated>(t =>
        {
            var lost = _fetches.FirstOrDefault(kv => kv.Value.Fetch.Equals(t.ActorRef));
            if (lost.Key is not null) FailWaiters(lost.Key, "the fetch stopped unexpectedly");
        });
    }

    /// <summary>Props of a <see cref="WeightsTransfer"/> on the transfer dispatcher.</summary>
    /// <param name="settings">The transfer settings; null takes the defaults (no side channel).</param>
    public static Props Props(WeightsTransferSettings? settings = null) =>
        Akka.Actor.Props.Create(() => new WeightsTransfer(settings ?? new WeightsTransferSettings()))
            .WithDispatcher(Dispatchers.Transfer);

    /// <summary>Starts the TCP side channel when <see cref="WeightsTransferSettings.BulkHost"/> is set.</summary>
    protected override void PreStart()
    {
        if (_settings.BulkHost is { } host)
        {
            var log = _log;
            _bulk = new BulkTransferServer(host, _settings.BulkPort, _settings.BulkMaxConnections, _settings.BulkReadTimeout, line => log.Warning(line), _settings.Tls);
            _log.Info("Serving weights over {0} at {1}", _settings.Tls is null ? "plain TCP" : "mutual TLS", _bulk.Endpoint);
        }
    }

    /// <summary>Stops the side channel, if any.</summary>
    protected override void PostStop() => _bulk?.Dispose();

    // A failing fetch reports its failure itself; restarting it would only repeat the transfer.
    /// <summary>Stops a failing fetch child rather than restarting it: it has reported its failure itself.</summary>
    protected override SupervisorStrategy SupervisorStrategy() => Akka.Actor.SupervisorStrategy.StoppingStrategy;

    private void Offer(OfferWeights offer)
    {
        var weights = offer.Weights;
        if (_blobs.TryGetValue(weights.ContentHash, out var blob))
        {
            blob.Offered = true;
            _cached.Remove(weights.ContentHash);
        }
        else _blobs[weights.ContentHash] = blob = new Blob(weights, offered: true);
        _bulk?.Served.TryAdd(weights.ContentHash, blob.Served);
        Sender.Tell(new WeightsRef(weights.ContentHash, weights.PayloadBytes, Self, _bulk?.Endpoint) { BulkToken = _bulk?.Token });
    }

    private void Release(ReleaseWeights release)
    {
        // An offer ends; a copy fetched from another node is dropped early (a later fetch asks the owner again).
        if (_blobs.Remove(release.ContentHash, out var blob) && !blob.Offered) _cached.Remove(release.ContentHash);
        _bulk?.Served.TryRemove(release.ContentHash, out _);
    }

    private void Fetch(FetchWeights fetch)
    {
        var hash = fetch.Ref.ContentHash;
        if (_blobs.TryGetValue(hash, out var blob))
        {
            if (_cached.Remove(hash)) _cached.AddFirst(hash);
            Sender.Tell(new WeightsFetched(fetch.Ref, blob.Weights));
            return;
        }
        if (fetch.Ref.Owner.Equals(Self))
        {
            Sender.Tell(new Status.Failure(new WeightsTransferException($"Weights {Short(hash)} are not offered on this node (released?).")));
            return;
        }
        if (!_fetches.TryGetValue(hash, out var pending))
        {
            var child = Context.ActorOf(WeightsFetch.Props(fetch.Ref, _settings));
            Context.Watch(child);
            _fetches[hash] = pending = (child, new List<IActorRef>());
        }
        pending.Waiting.Add(Sender);
    }

    private void Serve(FetchChunk request)
    {
        if (!_blobs.TryGetValue(request.ContentHash, out var blob))
        {
            Sender.Tell(new WeightsNotOffered(request.ContentHash));
            return;
        }
        var bytes = blob.Bytes.Value;
        var offset = (int)Math.Clamp(request.Offset, 0, bytes.Length);
        var length = Math.Min(Math.Clamp(request.Length, 0, WeightsTransferSettings.MaxChunkBytes), bytes.Length - offset);
        Sender.Tell(new WeightsChunk(request.ContentHash, offset, bytes.Length, bytes.AsSpan(offset, length).ToArray()));
    }

    private void Fetched(WeightsFetch.Fetched fetched)
    {
        var hash = fetched.Weights.ContentHash;
        if (!_blobs.ContainsKey(hash))
        {
            _blobs[hash] = new Blob(fetched.Weights, offered: false);
            _cached.AddFirst(hash);
            while (_cached.Count > _settings.CacheCapacity)
            {
                _blobs.Remove(_cached.Last!.Value);
                _cached.RemoveLast();
            }
        }
        if (!_fetches.Remove(hash, out var pending)) return;
        Context.Unwatch(pending.Fetch);
        foreach (var waiter in pending.Waiting) waiter.Tell(new WeightsFetched(fetched.Ref, fetched.Weights));
    }

    private void FailWaiters(string hash, string reason)
    {
        if (!_fetches.Remove(hash, out var pending)) return;
        Context.Unwatch(pending.Fetch);
        _log.Warning("Fetch of weights {0} failed: {1}", Short(hash), reason);
        var failure = new Status.Failure(new WeightsTransferException($"Fetch of weights {Short(hash)} failed: {reason}"));
        foreach (var waiter in pending.Waiting) waiter.Tell(failure);
    }

    private static byte[] Serialise(ModelWeights weights)
    {
        using var buffer = new MemoryStream(checked((int)weights.PayloadBytes + 4096));
        weights.WriteTo(buffer);
        return buffer.ToArray();
    }

    internal static string Short(string hash) => hash.Length > 12 ? hash[..12] + "…" : hash;
}
