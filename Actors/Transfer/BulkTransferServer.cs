using System.Buffers.Binary;
using System.Collections.Concurrent;
using System.IO.Hashing;
using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Cryptography.X509Certificates;
using FedActors.Actors.Cluster;
using System.Security.Cryptography;
using FedActors.Actors.Protocol;
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
/// A node's side channel for weight blobs: a TCP listener on the node's own interface that, asked for a content hash
/// with the node's <see cref="Token"/>, writes the offered blob's length, its bytes straight from the serialised copy,
/// and their XxHash3. Remoting copies every chunk through several buffers and paces it with round trips (about 0.05 of
/// loopback TCP's rate was measured); this writes each byte once. Blobs are looked up in <see cref="Served"/>, which
/// the node's <see cref="WeightsTransfer"/> fills when it offers weights and empties when it releases them.
/// <para>
/// Hardened against strangers on the network: it binds the node's address (not every interface); a request must carry
/// the node's random <see cref="Token"/>, which travels only inside weights references over remoting (a wrong one is
/// answered "refused" and logged); every read and write of a connection has a timeout (a half-sent request is dropped);
/// at most <c>maxConnections</c> are served at once and any more are closed as soon as they are accepted; the request
/// is a few dozen bytes, read into a fixed buffer, and the fetching side refuses a blob longer than its reference allows
/// before reading it.
/// </para>
/// The receiver checks the XxHash3 instead of recomputing the SHA-256 content hash, which took longer than the
/// bytes took to arrive: the checksum proves it holds exactly the bytes the owner wrote, and the owner computed the
/// content hash written in them from those very tensors (or received them proven the same way). XxHash3 guards against
/// damage, not against a malicious member: the cluster's admitted nodes trust each other, as they do over remoting.
/// </summary>
public sealed class BulkTransferServer : IDisposable
{
    /// <summary>Length of <see cref="Token"/>, in bytes.</summary>
    public const int TokenBytes = 32;
    private const uint RequestMagic = 0x32424146; // "FAB2" little-endian: the token-carrying request
    private const long NotOffered = -1, Refused = -2;
    private const int MaxHashLength = 128;
    private const int WriteSlice = 1 << 20;

    private readonly TcpListener _listener;
    private readonly CancellationTokenSource _stop = new();
    private readonly int _maxConnections;
    private readonly TimeSpan _readTimeout;
    private readonly Action<string> _log;
    private readonly ClusterTlsSettings? _tls;
    private int _open;
    private int _peak;
    private long _overCap;
    private long _refused;

    /// <summary>Starts listening on <paramref name="host"/>'s address at <paramref name="port"/> and accepting connections in the background.</summary>
    /// <param name="host">The node's hostname or IP address: what it binds (its first IPv4 address, else its first) and what other nodes reach it by.</param>
    /// <param name="port">The TCP port; 0 takes any free one (see <see cref="Endpoint"/>).</param>
    /// <param name="maxConnections">The most connections served at once (default 64); more are closed at once.</param>
    /// <param name="readTimeout">How long any read or write of a connection may take before it is dropped (default 10 s).</param>
    /// <param name="log">Where refusals are reported (a token mismatch, a malformed request, connections over the cap), one line each.</param>
    /// <param name="tls">
    /// Mutual TLS: every connection must complete a handshake in which the fetching side presents a certificate of the
    /// cluster's CA (as this server presents its own) before the request is read; null: plain TCP.
    /// </param>
    /// <exception cref="ArgumentException"><paramref name="host"/> resolves to no address, or a limit is not positive.</exception>
    public BulkTransferServer(string host, int port, int maxConnections = 64, TimeSpan? readTimeout = null, Action<string>? log = null,
        ClusterTlsSettings? tls = null)
    {
        _tls = tls;
        if (maxConnections <= 0) throw new ArgumentException($"maxConnections {maxConnections} must be positive.", nameof(maxConnections));
        _maxConnections = maxConnections;
        _readTimeout = readTimeout ?? TimeSpan.FromSeconds(10);
        if (_readTimeout <= TimeSpan.Zero) throw new ArgumentException($"readTimeout {_readTimeout} must be positive.", nameof(readTimeout));
        _log = log ?? (_ => { });
        _listener = new TcpListener(BindAddress(host), port);
        _listener.Start();
        Endpoint = $"{host}:{((IPEndPoint)_listener.LocalEndpoint).Port}";
        _ = AcceptAsync();
    }

    /// <summary>Serialised blobs by content hash, built on first request.</summary>
    public ConcurrentDictionary<string, Lazy<ServedBlob>> Served { get; } = new();

    /// <summary><c>host:port</c>, as a <c>WeightsRef</c> carries it.</summary>
    public string Endpoint { get; }

    /// <summary>The address the listener is bound to.</summary>
    public IPEndPoint LocalEndpoint => (IPEndPoint)_listener.LocalEndpoint;

    /// <summary>This server's random token (<see cref="TokenBytes"/> bytes, new for every server): a fetch must present it.</summary>
    public byte[] Token { get; } = RandomNumberGenerator.GetBytes(TokenBytes);

    /// <summary>Connections being served now (never above the cap).</summary>
    public int OpenConnections => Volatile.Read(ref _open);

    /// <summary>The most connections served at once since the start (never above the cap).</summary>
    public int PeakConnections => Volatile.Read(ref _peak);

    /// <summary>Connections closed on arrival because the cap was reached, since the start.</summary>
    public long ClosedOverCap => Interlocked.Read(ref _overCap);

    /// <summary>Requests refused (wrong token, malformed, or timed out), since the start.</summary>
    public long RefusedRequests => Interlocked.Read(ref _refused);

    private static IPAddress BindAddress(string host)
    {
        if (IPAddress.TryParse(host, out var ip)) return ip;
        var addresses = Dns.GetHostAddresses(host);
        return addresses.FirstOrDefault(a => a.AddressFamily == AddressFamily.InterNetwork) ?? addresses.FirstOrDefault()
            ?? throw new ArgumentException($"host '{host}' resolves to no address for the weights transfer's bulk channel.", nameof(host));
    }

    private async Task AcceptAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            Socket socket;
            try { socket = await _listener.AcceptSocketAsync(_stop.Token); }
            catch (Exception) when (_stop.IsCancellationRequested) { return; }
            catch (SocketException) { await Task.Delay(100); continue; } // out of descriptors, say: do not spin
            var open = Interlocked.Increment(ref _open);
            if (open > _maxConnections)
            {
                Interlocked.Decrement(ref _open);
                var over = Interlocked.Increment(ref _overCap);
                socket.Close(0);
                if ((over & (over - 1)) == 0) // 1, 2, 4, 8, ...: a flood logs a few lines, not one per connection
                    _log($"bulk channel {Endpoint}: {over} connection(s) closed on arrival so far, over the cap of {_maxConnections} at once");
                continue;
            }
            int peak;
            while (open > (peak = Volatile.Read(ref _peak)) && Interlocked.CompareExchange(ref _peak, open, peak) != peak) { }
            _ = Task.Run(() => ServeAsync(socket));
        }
    }

    private async Task ServeAsync(Socket socket)
    {
        var remote = socket.RemoteEndPoint?.ToString() ?? "?";
        try
        {
            socket.NoDelay = true;
            await using var stream = _tls is null ? new NetworkStream(socket, ownsSocket: true) : await SecuredAsync(socket, remote);
            if (stream is null) return;
            var head = new byte[4 + TokenBytes + 1];
            await WithTimeout(t => stream.ReadExactlyAsync(head, t));
            var hashLength = head[^1];
            if (BinaryPrimitives.ReadUInt32LittleEndian(head) != RequestMagic || hashLength is 0 or > MaxHashLength)
            {
                Refuse(remote, "not a bulk request");
                return;
            }
            if (!CryptographicOperations.FixedTimeEquals(head.AsSpan(4, TokenBytes), Token))
            {
                // Counted before the answer goes out: whoever reads the answer must find the refusal on record already.
                Refuse(remote, "wrong token");
                await WithTimeout(t => stream.WriteAsync(BitConverter.GetBytes(Refused), t));
                return;
            }
            var hashBytes = new byte[hashLength];
            await WithTimeout(t => stream.ReadExactlyAsync(hashBytes, t));
            var hash = System.Text.Encoding.ASCII.GetString(hashBytes);
            if (!Served.TryGetValue(hash, out var blob))
            {
                await WithTimeout(t => stream.WriteAsync(BitConverter.GetBytes(NotOffered), t));
                return;
            }
            var served = blob.Value;
            await WithTimeout(t => stream.WriteAsync(BitConverter.GetBytes((long)served.Bytes.Length), t));
            for (var offset = 0; offset < served.Bytes.Length; offset += WriteSlice)
            {
                var slice = served.Bytes.AsMemory(offset, Math.Min(WriteSlice, served.Bytes.Length - offset));
                await WithTimeout(t => stream.WriteAsync(slice, t));
            }
            await WithTimeout(t => stream.WriteAsync(BitConverter.GetBytes(served.Checksum), t));
        }
        catch (OperationCanceledException) when (!_stop.IsCancellationRequested)
        {
            Refuse(remote, $"no progress within {_readTimeout.TotalSeconds:0.###} s");
        }
        catch (Exception e) when (e is IOException or SocketException or ObjectDisposedException or EndOfStreamException or OperationCanceledException)
        {
            // The fetching side went away or gave up: it falls back to chunks over remoting.
        }
        finally
        {
            socket.Dispose();
            Interlocked.Decrement(ref _open);
        }
    }

    /// <summary>The server side of a mutual-TLS handshake on <paramref name="socket"/>; null (refused and counted) if it fails.</summary>
    private async Task<Stream?> SecuredAsync(Socket socket, string remote)
    {
        string? refusal = null;
        var ssl = new SslStream(new NetworkStream(socket, ownsSocket: true), leaveInnerStreamOpen: false);
        try
        {
            await WithTimeout(t => new ValueTask(ssl.AuthenticateAsServerAsync(new SslServerAuthenticationOptions
            {
                ServerCertificate = _tls!.Certificate, ClientCertificateRequired = true,
                RemoteCertificateValidationCallback = (_, certificate, _, _) => (refusal = _tls.Refusal(AsCertificate2(certificate))) is null,
            }, t)));
            return ssl;
        }
        catch (Exception e) when (e is System.Security.Authentication.AuthenticationException or IOException)
        {
            Refuse(remote, $"TLS handshake failed ({refusal ?? e.Message})");
            await ssl.DisposeAsync();
            return null;
        }
    }

    private static X509Certificate2? AsCertificate2(X509Certificate? certificate) =>
        certificate as X509Certificate2 ?? (certificate is null ? null : X509CertificateLoader.LoadCertificate(certificate.GetRawCertData()));

    /// <summary>Runs one read or write, cancelled after the read timeout (or when the server stops).</summary>
    private async Task WithTimeout(Func<CancellationToken, ValueTask> io)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(_stop.Token);
        timeout.CancelAfter(_readTimeout);
        await io(timeout.Token);
    }

    private void Refuse(string remote, string reason)
    {
        Interlocked.Increment(ref _refused);
        _log($"bulk channel {Endpoint}: refused a connection from {remote}: {reason}");
    }

    /// <summary>Stops accepting and listening; transfers under way end with the fetching side falling back to remoting.</summary>
    public void Dispose()
    {
        _stop.Cancel();
        _listener.Stop();
        _stop.Dispose();
    }

    /// <summary>
    /// The longest serialised blob a reference to <paramref name="payloadBytes"/> bytes of values may have: twice the values
    /// and 1 MiB for names, shapes and headers. A fetch refuses a longer one before reading or allocating it.
    /// </summary>
    /// <param name="payloadBytes">The reference's <c>PayloadBytes</c>.</param>
    public static long MaxBlobBytes(long payloadBytes) => payloadBytes < 0 ? 0 : Math.Min(long.MaxValue / 4, payloadBytes) * 2 + (1 << 20);

    /// <summary>
    /// Fetches the weights of <paramref name="reference"/> over its owner's side channel, presenting its token and refusing a
    /// blob longer than <see cref="MaxBlobBytes"/> of its payload (see <see cref="FetchAsync(string, string, byte[], long, TimeSpan, CancellationToken, ClusterTlsSettings)"/>).
    /// </summary>
    /// <exception cref="WeightsTransferException">The reference names no side channel, or the owner does not offer the weights or refuses the token.</exception>
    public static Task<ModelWeights> FetchAsync(WeightsRef reference, TimeSpan stallTimeout, CancellationToken cancel, ClusterTlsSettings? tls = null) =>
        FetchAsync(reference.BulkEndpoint ?? throw new WeightsTransferException($"weights {WeightsTransfer.Short(reference.ContentHash)}: no bulk endpoint"),
            reference.ContentHash, reference.BulkToken, MaxBlobBytes(reference.PayloadBytes), stallTimeout, cancel, tls);

    /// <summary>
    /// Fetches the blob of <paramref name="contentHash"/> from <paramref name="endpoint"/> with <paramref name="token"/> and parses
    /// it as it arrives (no intermediate copy), checking the checksum of its bytes and the content hash they carry; throws
    /// <see cref="WeightsTransferException"/> if the owner does not offer it, refuses the token or announces more than
    /// <paramref name="maxBlobBytes"/>, and I/O or format errors as they come. Every read waits at most <paramref name="stallTimeout"/>.
    /// With <paramref name="tls"/>, the connection is mutual TLS: the owner must present a certificate of the cluster's CA
    /// (an <see cref="System.Security.Authentication.AuthenticationException"/> otherwise), and this side presents its own.
    /// </summary>
    public static async Task<ModelWeights> FetchAsync(string endpoint, string contentHash, byte[]? token, long maxBlobBytes, TimeSpan stallTimeout,
        CancellationToken cancel, ClusterTlsSettings? tls = null)
    {
        var colon = endpoint.LastIndexOf(':');
        if (colon <= 0 || !int.TryParse(endpoint[(colon + 1)..], out var port))
            throw new WeightsTransferException($"bad bulk endpoint '{endpoint}'");
        var hash = System.Text.Encoding.ASCII.GetBytes(contentHash);
        if (hash.Length is 0 or > MaxHashLength) throw new WeightsTransferException($"content hash of {hash.Length} characters cannot be asked for");
        using var client = new TcpClient
        {
            NoDelay = true, ReceiveTimeout = (int)stallTimeout.TotalMilliseconds, SendTimeout = (int)stallTimeout.TotalMilliseconds,
            ReceiveBufferSize = 1 << 20,
        };
        await client.ConnectAsync(endpoint[..colon], port, cancel);
        Stream stream = client.GetStream();
        if (tls is not null)
        {
            var ssl = new SslStream(stream, leaveInnerStreamOpen: false);
            using var handshake = CancellationTokenSource.CreateLinkedTokenSource(cancel);
            handshake.CancelAfter(stallTimeout);
            await ssl.AuthenticateAsClientAsync(new SslClientAuthenticationOptions
            {
                TargetHost = endpoint[..colon], ClientCertificates = [tls.Certificate],
                LocalCertificateSelectionCallback = (_, _, _, _, _) => tls.Certificate,
                RemoteCertificateValidationCallback = (_, certificate, _, _) => tls.Refusal(AsCertificate2(certificate)) is null,
            }, handshake.Token);
            stream = ssl;
        }
        var request = new byte[4 + TokenBytes + 1 + hash.Length];
        BinaryPrimitives.WriteUInt32LittleEndian(request, RequestMagic);
        token?.AsSpan(0, Math.Min(token.Length, TokenBytes)).CopyTo(request.AsSpan(4));
        request[4 + TokenBytes] = (byte)hash.Length;
        hash.CopyTo(request, 4 + TokenBytes + 1);
        stream.Write(request);
        using var reader = new BinaryReader(stream, System.Text.Encoding.UTF8, leaveOpen: true);
        var length = reader.ReadInt64();
        if (length == Refused) throw new WeightsTransferException($"{endpoint} refused the fetch of {WeightsTransfer.Short(contentHash)}: wrong or missing token");
        if (length < 0) throw new WeightsTransferException($"{endpoint} does not offer weights {WeightsTransfer.Short(contentHash)} (released?)");
        if (length > maxBlobBytes)
            throw new WeightsTransferException($"{endpoint} announces {length} bytes for weights {WeightsTransfer.Short(contentHash)}, more than the {maxBlobBytes} bytes their reference allows");
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
