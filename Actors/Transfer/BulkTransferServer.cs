using System.Collections.Concurrent;
using System.IO.Hashing;
using System.Net;
using System.Net.Sockets;
using FedActors.Training.Weights;

namespace FedActors.Actors.Transfer;

/// <summary>A serialised weights blob as the side channel serves it, with the XxHash3 of its bytes.</summary>
/// <param name="Bytes">The serialised weights.</param>
/// <param name="Checksum">XxHash3 of <paramref name="Bytes"/>.</param>
public sealed record ServedBlob(byte[] Bytes, ulong Checksum)
{
    /// <summary>Wraps <paramref name="bytes"/> with their XxHash3 (the array is kept, not copied).</summary>
    /// <param name="bytes">The serialised weights.</param>
    public static ServedBlob Of(byte[] bytes) => new(bytes, XxHash3.HashToUInt64(bytes));
}

/// <summary>
/// A node's side channel for weight blobs: a plain TCP listener that, asked for a content hash, writes the
/// offered blob's length, its bytes straight from the serialised copy, and their XxHash3. Remoting copies every
/// chunk through several buffers and paces it with round trips (about 0.05 of loopback TCP's rate was measured);
/// this writes each byte once. Blobs are looked up in <see cref="Served"/>, which the node's
/// <see cref="WeightsTransfer"/> fills when it offers weights and empties when it releases them.
/// The receiver checks the XxHash3 instead of recomputing the SHA-256 content hash, which took longer than the
/// bytes took to arrive: the checksum proves it holds exactly the bytes the owner wrote, and the owner computed the
/// content hash written in them from those very tensors (or received them proven the same way). XxHash3 guards against
/// damage, not against a malicious node: the cluster's nodes trust each other, as they do over remoting.
/// </summary>
public sealed class BulkTransferServer : IDisposable
{
    private readonly TcpListener _listener;
    private readonly CancellationTokenSource _stop = new();

    /// <summary>Starts listening on all interfaces at <paramref name="port"/> and accepting connections in the background.</summary>
    /// <param name="advertisedHost">The name other nodes reach this one by (the node's remoting hostname).</param>
    /// <param name="port">The TCP port; 0 takes any free one (see <see cref="Endpoint"/>).</param>
    public BulkTransferServer(string advertisedHost, int port)
    {
        _listener = new TcpListener(IPAddress.Any, port);
        _listener.Start();
        Endpoint = $"{advertisedHost}:{((IPEndPoint)_listener.LocalEndpoint).Port}";
        _ = AcceptAsync();
    }

    /// <summary>Serialised blobs by content hash, built on first request.</summary>
    public ConcurrentDictionary<string, Lazy<ServedBlob>> Served { get; } = new();

    /// <summary><c>host:port</c>, as a <c>WeightsRef</c> carries it.</summary>
    public string Endpoint { get; }

    private async Task AcceptAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            TcpClient client;
            try { client = await _listener.AcceptTcpClientAsync(_stop.Token); }
            catch (Exception) when (_stop.IsCancellationRequested) { return; }
            catch (SocketException) { await Task.Delay(100); continue; } // out of descriptors, say: do not spin
            _ = Task.Run(() => Serve(client));
        }
    }

    private void Serve(TcpClient client)
    {
        using (client)
        {
            try
            {
                client.NoDelay = true;
                var stream = client.GetStream();
                using var reader = new BinaryReader(stream, System.Text.Encoding.UTF8, leaveOpen: true);
                using var writer = new BinaryWriter(stream, System.Text.Encoding.UTF8, leaveOpen: true);
                var hash = reader.ReadString();
                if (!Served.TryGetValue(hash, out var blob))
                {
                    writer.Write(-1L);
                    return;
                }
                var served = blob.Value;
                writer.Write((long)served.Bytes.Length);
                writer.Flush();
                stream.Write(served.Bytes);
                writer.Write(served.Checksum);
            }
            catch (Exception e) when (e is IOException or SocketException or ObjectDisposedException)
            {
                // The fetching side went away or gave up: it falls back to chunks over remoting.
            }
        }
    }

    /// <summary>Stops accepting and listening; transfers under way end with the fetching side falling back to remoting.</summary>
    public void Dispose()
    {
        _stop.Cancel();
        _listener.Stop();
        _stop.Dispose();
    }

    /// <summary>
    /// Fetches the blob of <paramref name="contentHash"/> from <paramref name="endpoint"/> and parses it as it
    /// arrives (no intermediate copy), checking the checksum of its bytes and the content hash they carry; throws <see cref="WeightsTransferException"/> if the
    /// owner does not offer it, and I/O or format errors as they come.
    /// </summary>
    public static async Task<ModelWeights> FetchAsync(string endpoint, string contentHash, TimeSpan stallTimeout, CancellationToken cancel)
    {
        var colon = endpoint.LastIndexOf(':');
        if (colon <= 0 || !int.TryParse(endpoint[(colon + 1)..], out var port))
            throw new WeightsTransferException($"bad bulk endpoint '{endpoint}'");
        using var client = new TcpClient { NoDelay = true, ReceiveTimeout = (int)stallTimeout.TotalMilliseconds, ReceiveBufferSize = 1 << 20 };
        await client.ConnectAsync(endpoint[..colon], port, cancel);
        var stream = client.GetStream();
        using var writer = new BinaryWriter(stream, System.Text.Encoding.UTF8, leaveOpen: true);
        writer.Write(contentHash);
        writer.Flush();
        using var reader = new BinaryReader(stream, System.Text.Encoding.UTF8, leaveOpen: true);
        var length = reader.ReadInt64();
        if (length < 0) throw new WeightsTransferException($"{endpoint} does not offer weights {WeightsTransfer.Short(contentHash)} (released?)");
        // Parsing straight off the socket; the stream is bounded so a short or long blob is a format error, not a hang.
        using var buffered = new BufferedStream(stream, 1 << 20);
        using var blob = new BoundedStream(buffered, length);
        var source = $"blob from {endpoint}";
        var weights = ModelWeights.ReadFrom(blob, source, StoredHash.Trust);
        if (blob.Remaining != 0) throw new InvalidDataException($"{source}: {blob.Remaining} bytes after the weights");
        var checksum = new BinaryReader(buffered).ReadUInt64();
        if (checksum != blob.Checksum)
            throw new InvalidDataException($"{source}: checksum mismatch (sent {checksum:x16}, received bytes {blob.Checksum:x16})");
        if (weights.ContentHash != contentHash)
            throw new InvalidDataException($"{source}: carries weights {WeightsTransfer.Short(weights.ContentHash)}, not {WeightsTransfer.Short(contentHash)}");
        return weights;
    }

    /// <summary>
    /// Reads at most <c>length</c> bytes of the inner stream, taking the XxHash3 of what it reads. It reports a length
    /// and position (and so "can seek", though it never seeks) so that the weights reader refuses a corrupted length
    /// prefix the blob cannot hold.
    /// </summary>
    private sealed class BoundedStream(Stream inner, long length) : Stream
    {
        private readonly long _length = length;
        private readonly XxHash3 _checksum = new();
        public long Remaining { get; private set; } = length;
        public ulong Checksum => _checksum.GetCurrentHashAsUInt64();
        public override bool CanRead => true;
        public override bool CanSeek => true;
        public override bool CanWrite => false;
        public override long Length => _length;
        public override long Position { get => _length - Remaining; set => throw new NotSupportedException(); }

        public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

        public override int Read(Span<byte> buffer)
        {
            if (Remaining == 0) return 0;
            var read = inner.Read(buffer[..(int)Math.Min(buffer.Length, Remaining)]);
            if (read == 0) throw new EndOfStreamException($"connection closed with {Remaining} bytes of the blob still to come");
            Remaining -= read;
            _checksum.Append(buffer[..read]);
            return read;
        }

        public override void Flush() { }
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }
}
