using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using System.Text;
using Akka.Actor;
using Akka.Hosting;
using FedActors.Actors.Cluster;
using FedActors.Actors.Hosting;
using FedActors.Actors.Protocol;
using FedActors.Actors.Transfer;
using FedActors.Host.Configuration;
using FedActors.Host.Runs;
using FedActors.Training.Benchmarks;
using FedActors.Training.Weights;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace FedActors.Host.Benchmarks;

/// <summary>
/// The transport figure: payload bytes per second of one weights fetch between two processes over the cluster transport
/// (the owner's side channel, as nodes fetch), of the same fetch in chunks over remoting (the fallback), and of the same
/// number of bytes read from a plain loopback TCP socket of the same peer, best of several each. <see cref="OfferedHash"/>
/// is the payload built here, <see cref="FetchedHash"/> and <see cref="ChunkedHash"/> what arrived each way.
/// </summary>
public sealed record TransportRow(long PayloadBytes, string OfferedHash, string FetchedHash, string ChunkedHash, double TransportMegabytesPerSecond,
    double ChunkedMegabytesPerSecond, double TcpMegabytesPerSecond, TransportCosts Costs)
{
    public double Ratio => TransportMegabytesPerSecond / TcpMegabytesPerSecond;
}

/// <summary>
/// Where a chunked fetch's time goes, each part measured alone in the fetching process: the whole fetch; parsing the blob and
/// checking its SHA-256 once the last chunk is in; serialising and deserialising every chunk message (one side's share each);
/// the chunk requests made, <see cref="Window"/> at most in flight; and the bytes the fetching process allocated per fetch.
/// </summary>
public sealed record TransportCosts(double FetchSeconds, double VerifySeconds, double ChunkCodecSeconds, int Chunks, int ChunkBytes, int Window,
    long AllocatedBytes)
{
    /// <summary>What the parts measured alone leave: remoting (envelopes, framing, socket) and waiting on chunk round trips.</summary>
    public double RemotingSeconds => Math.Max(0, FetchSeconds - VerifySeconds - ChunkCodecSeconds);
}

/// <summary>
/// <c>fedactors bench transport</c>: starts a peer process of this same program that offers a ResNet-18-sized payload through
/// a <see cref="WeightsTransfer"/> on a node's transport (<see cref="ClusterHostingExtensions.WithNodeTransport"/>: serializer,
/// remoting, frame limit, chunking) and serves the payload's bytes on a raw loopback TCP socket; this process fetches it as a
/// hospital does, checks its content hash against the payload built here, and times both. The peer lives as long as its
/// standard input: closed (by <see cref="TransportPeer.Dispose"/> or this process's death), it stops.
/// </summary>
public static class TransportBenchmark
{
    /// <summary>The option that makes <c>bench transport</c> the peer.</summary>
    public const string PeerOption = "--peer";

    /// <summary>The option that caps the payload, in MB (default: all of ResNet-18).</summary>
    public const string PayloadOption = "--payload-mb";

    private const int PayloadSeed = 45;

    /// <summary>Each figure is the best of this many: this machine's loopback varies by half from one read to the next.</summary>
    public const int Repeats = 7;
    private static readonly TimeSpan Timeout = TimeSpan.FromMinutes(2);

    /// <summary>
    /// ResNet-18's tensors in order, as many as fit in <paramref name="maxMegabytes"/> (at least one; all when null), filled
    /// with seeded noise: both processes build the same payload.
    /// </summary>
    public static ModelWeights Payload(double? maxMegabytes)
    {
        var maxBytes = maxMegabytes * 1e6;
        var rng = new Random(PayloadSeed);
        var tensors = new List<WeightTensor>();
        long bytes = 0;
        foreach (var t in AggregationThroughput.ResNet18Tensors())
        {
            bytes += (long)t.Values.Length * sizeof(float);
            if (bytes > maxBytes && tensors.Count > 0) break;
            var values = new float[t.Values.Length];
            for (var k = 0; k < values.Length; k++) values[k] = rng.NextSingle() - 0.5f;
            tensors.Add(t with { Values = values });
        }
        return new ModelWeights(tensors);
    }

    /// <summary>A node's transport as a default experiment configures it, on a free loopback port.</summary>
    private static IHost StartNode()
    {
        var node = new ClusterNodeSettings { Port = 0, MaximumFrameBytes = ExperimentConfig.Load(null, []).Host.Cluster.MaximumFrameBytes };
        var app = NodeHost.Build(akka =>
        {
            // The benchmark's output is its figures: remoting's occasional warning as a node stops shows only when asked for.
            if (Environment.GetEnvironmentVariable(NodeHost.LogLevelVariable) is null) akka.ConfigureLoggers(l => l.LogLevel = Akka.Event.LogLevel.ErrorLevel);
            akka.WithFedActorsDispatchers(1).WithNodeTransport(node);
        });
        app.StartAsync().GetAwaiter().GetResult();
        return app;
    }

    public static TransportRow Measure(double? maxPayloadMegabytes = null, int repeats = Repeats)
    {
        using var peer = TransportPeer.Start(maxPayloadMegabytes);
        // Built here too, so the check of what arrives does not rest on the peer's word.
        var payload = Payload(maxPayloadMegabytes);
        using var app = StartNode();
        try
        {
            var system = app.Services.GetRequiredService<ActorSystem>();
            var transfer = app.Services.GetRequiredService<ActorRegistry>().Get<WeightsTransfer>();
            if (peer.Ready.ContentHash != payload.ContentHash)
                throw new InvalidOperationException($"the peer offers weights {peer.Ready.ContentHash[..12]}…, not the payload built here ({payload.ContentHash[..12]}…)");
            var owner = system.ActorSelection(peer.Ready.OwnerPath).ResolveOne(Timeout).GetAwaiter().GetResult();
            var reference = new WeightsRef(peer.Ready.ContentHash, peer.Ready.PayloadBytes, owner, peer.Ready.BulkEndpoint) { BulkToken = peer.Ready.BulkToken };

            ModelWeights? fetched = null;
            void Fetch(WeightsRef what)
            {
                fetched = transfer.FetchAsync(what, Timeout).GetAwaiter().GetResult();
                // Drop this node's copy, so the next fetch crosses the wire again instead of hitting the cache.
                transfer.Tell(new ReleaseWeights(what.ContentHash));
            }
            Fetch(reference); // warm-up: the JIT, the connection, and the owner serialising the blob once
            // Each fetch from a collected heap, as a node's steady state is (last round's weights collected, their memory kept
            // for reuse), and as the raw read below reads into memory already in use: else the figure is the kernel faulting in
            // 45 MB of new pages, which on this machine varies more than the transport does.
            var transportSeconds = AggregationThroughput.Best(repeats, () => Fetch(reference), before: Collect);
            var fetchedHash = fetched!.ContentHash;

            // The fallback, as when the side channel is unreachable: chunks over remoting.
            var chunked = reference with { BulkEndpoint = null };
            Fetch(chunked);
            var allocatedBefore = GC.GetTotalAllocatedBytes(precise: true);
            var fetchSeconds = AggregationThroughput.Best(repeats, () => Fetch(chunked), before: Collect);
            var allocatedPerFetch = (GC.GetTotalAllocatedBytes(precise: true) - allocatedBefore) / repeats;
            var chunkedHash = fetched!.ContentHash;

            var raw = new byte[payload.PayloadBytes];
            void ReadRaw() => ReadFrom(peer.Ready.TcpPort, raw);
            ReadRaw();
            var tcpSeconds = AggregationThroughput.Best(repeats, ReadRaw);

            var costs = Costs(system, payload, fetchSeconds, allocatedPerFetch, repeats);
            var megabytes = payload.PayloadBytes / 1e6;
            return new TransportRow(payload.PayloadBytes, payload.ContentHash, fetchedHash, chunkedHash, megabytes / transportSeconds, megabytes / fetchSeconds,
                megabytes / tcpSeconds, costs);
        }
        finally
        {
            app.StopAsync().GetAwaiter().GetResult();
        }
    }

    private static void Collect()
    {
        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();
    }

    /// <summary>Reads exactly <paramref name="into"/>'s length from a fresh connection to the peer's raw socket.</summary>
    private static void ReadFrom(int port, byte[] into)
    {
        using var client = new TcpClient();
        client.Connect(IPAddress.Loopback, port);
        var stream = client.GetStream();
        var read = 0;
        while (read < into.Length)
        {
            var n = stream.Read(into, read, into.Length - read);
            if (n == 0) throw new EndOfStreamException($"the peer's raw socket closed after {read} of {into.Length} bytes");
            read += n;
        }
    }

    /// <summary>The serial parts of a fetch, measured alone here: the final parse and hash check, and every chunk's (de)serialisation.</summary>
    private static TransportCosts Costs(ActorSystem system, ModelWeights payload, double fetchSeconds, long allocatedPerFetch, int repeats)
    {
        var settings = new WeightsTransferSettings(); // what every node's transfer runs with
        using var buffer = new MemoryStream();
        payload.WriteTo(buffer);
        var blob = buffer.ToArray();
        var verify = AggregationThroughput.Best(repeats, () => ModelWeights.ReadFrom(new MemoryStream(blob, writable: false), "transport benchmark blob"));
        var serializer = (Akka.Serialization.SerializerWithStringManifest)system.Serialization.FindSerializerForType(typeof(WeightsChunk));
        var chunks = (blob.Length + settings.ChunkBytes - 1) / settings.ChunkBytes;
        var codec = AggregationThroughput.Best(repeats, () =>
        {
            for (var offset = 0; offset < blob.Length; offset += settings.ChunkBytes)
            {
                // As the owner serves a chunk (a copy of its slice) and the receiver takes it apart.
                var chunk = new WeightsChunk(payload.ContentHash, offset, blob.Length, blob.AsSpan(offset, Math.Min(settings.ChunkBytes, blob.Length - offset)).ToArray());
                serializer.FromBinary(serializer.ToBinary(chunk), serializer.Manifest(chunk));
            }
        });
        return new TransportCosts(fetchSeconds, verify, codec, chunks, settings.ChunkBytes, settings.Window, allocatedPerFetch);
    }

    /// <summary>A fetch's time split into the parts <see cref="TransportCosts"/> measures.</summary>
    public static string WhereTimeGoes(TransportRow row)
    {
        var c = row.Costs;
        var transportMs = row.PayloadBytes / 1e3 / row.TransportMegabytesPerSecond;
        var tcpMs = row.PayloadBytes / 1e3 / row.TcpMegabytesPerSecond;
        return string.Create(CultureInfo.InvariantCulture,
            $"Where the time goes. Over the side channel a fetch took {transportMs:F0} ms against the raw socket's {tcpMs:F0} ms: the owner writes " +
            $"its serialised blob once, with the XxHash3 of its bytes after it, and the receiver parses it off the socket into fresh tensors, " +
            $"hashing each read as it lands. The SHA-256 content hash is not recomputed there: parsing and recomputing it from memory alone " +
            $"take {c.VerifySeconds * 1e3:F0} ms. Two settings of the fedactors program count as much (FedActors.Host.csproj): loops compiled " +
            $"optimised at their first call, and freed memory kept for reuse rather than faulted in afresh; without them a fetch here took " +
            $"several times as long. In chunks over remoting ({row.ChunkedMegabytesPerSecond:F1} MB/s, the fallback) a fetch took " +
            $"{c.FetchSeconds * 1e3:F0} ms: that parse and SHA-256 after the last chunk; serialising and deserialising its {c.Chunks} chunk " +
            $"messages of {c.ChunkBytes / 1024} KB {c.ChunkCodecSeconds * 1e3:F0} ms; the rest, {c.RemotingSeconds * 1e3:F0} ms, is Akka.Remote " +
            $"(envelopes, framing, the socket) and waiting on chunk round trips, at most {c.Window} chunks in flight; and the fetching process " +
            $"allocates {(double)c.AllocatedBytes / row.PayloadBytes:F1} bytes per payload byte.");
    }

    /// <summary>Why the transport misses the target, with this run's figures.</summary>
    public static string WhyMissed(TransportRow row) => string.Create(CultureInfo.InvariantCulture,
        $"Why it misses: the raw socket reads into one buffer it reuses, while a fetch must put the bytes into new tensors (fresh memory " +
        $"the kernel faults in page by page) and hash them, on the same two cores as the sending process. On this machine the loopback's " +
        $"own rate varies by half from one read to the next, so the ratio of two best-of-{Repeats} figures moves around the target from run to run.");

    /// <summary>
    /// The peer: offers the payload through its node's weights transfer, serves the payload's bytes to every connection on a
    /// loopback socket, prints one <see cref="PeerReady"/> line, and runs until <paramref name="input"/> ends.
    /// </summary>
    public static int RunPeer(double? maxPayloadMegabytes, TextReader input, TextWriter output)
    {
        var payload = Payload(maxPayloadMegabytes);
        var raw = new byte[payload.PayloadBytes];
        var at = 0;
        foreach (var t in payload.Tensors)
        {
            MemoryMarshal.AsBytes(t.Values.AsSpan()).CopyTo(raw.AsSpan(at));
            at += t.Values.Length * sizeof(float);
        }
        var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var serving = Task.Run(() => ServeRaw(listener, raw));
        using var app = StartNode();
        try
        {
            var transfer = app.Services.GetRequiredService<ActorRegistry>().Get<WeightsTransfer>();
            var offered = transfer.OfferAsync(payload, Timeout).GetAwaiter().GetResult();
            var port = ((IPEndPoint)listener.LocalEndpoint).Port;
            output.WriteLine(new PeerReady(Akka.Serialization.Serialization.SerializedActorPath(offered.Owner), offered.ContentHash, offered.PayloadBytes, port,
                offered.BulkEndpoint, offered.BulkToken).Format());
            output.Flush();
            input.ReadToEnd(); // until the parent closes it, or dies
            return 0; // Program.Ok: the peer ran and stopped as asked
        }
        finally
        {
            listener.Stop();
            serving.Wait();
            app.StopAsync().GetAwaiter().GetResult();
        }
    }

    private static void ServeRaw(TcpListener listener, byte[] raw)
    {
        while (true)
        {
            TcpClient client;
            try { client = listener.AcceptTcpClient(); }
            catch (Exception e) when (e is SocketException or ObjectDisposedException or InvalidOperationException) { return; } // stopped
            using (client)
            {
                try { client.GetStream().Write(raw); }
                catch (IOException) { } // the reader went away; serve the next one
            }
        }
    }
}

/// <summary>
/// The peer's one line to its parent: where its weights transfer is, what it offers, its raw socket's port, and its weights
/// transfer's side channel and its token (as the offer's reference names them; the token crosses only the pipe between the two processes).
/// </summary>
public sealed record PeerReady(string OwnerPath, string ContentHash, long PayloadBytes, int TcpPort, string? BulkEndpoint, byte[]? BulkToken = null)
{
    private const string Prefix = "transport peer ready:";

    public string Format() => string.Create(CultureInfo.InvariantCulture,
        $"{Prefix} {OwnerPath} {ContentHash} {PayloadBytes} {TcpPort} {BulkEndpoint ?? "-"} {(BulkToken is null ? "-" : Convert.ToHexString(BulkToken))}");

    public static PeerReady? Parse(string line)
    {
        if (!line.StartsWith(Prefix, StringComparison.Ordinal)) return null;
        var parts = line[Prefix.Length..].Split(' ', StringSplitOptions.RemoveEmptyEntries);
        return parts.Length == 6
            ? new PeerReady(parts[0], parts[1], long.Parse(parts[2], CultureInfo.InvariantCulture), int.Parse(parts[3], CultureInfo.InvariantCulture),
                parts[4] == "-" ? null : parts[4], parts[5] == "-" ? null : Convert.FromHexString(parts[5]))
            : throw new FormatException($"malformed peer line '{line}'");
    }
}

/// <summary>
/// The peer process of one benchmark run. Disposing it closes the peer's standard input (its signal to stop) and kills it if
/// it has not gone within seconds; should this process die first, the closed pipe stops the peer all the same.
/// </summary>
public sealed class TransportPeer : IDisposable
{
    private readonly Process _process;
    private readonly StringBuilder _lines = new();
    private readonly TaskCompletionSource<PeerReady> _ready = new(TaskCreationOptions.RunContinuationsAsynchronously);

    private TransportPeer(Process process) => _process = process;

    public PeerReady Ready => _ready.Task.Result;

    public int ProcessId => _process.Id;

    public static TransportPeer Start(double? maxPayloadMegabytes)
    {
        var info = ThisProgram();
        foreach (var a in new[] { "bench", "transport", TransportBenchmark.PeerOption }) info.ArgumentList.Add(a);
        if (maxPayloadMegabytes is { } max)
        {
            info.ArgumentList.Add(TransportBenchmark.PayloadOption);
            info.ArgumentList.Add(max.ToString("R", CultureInfo.InvariantCulture)); // exactly: the peer builds the same payload
        }
        // Under a tracer (dotnet-trace) the peer would otherwise wait for that tracer's port before it starts.
        info.Environment.Remove("DOTNET_DiagnosticPorts");
        info.RedirectStandardInput = info.RedirectStandardOutput = info.RedirectStandardError = true;
        info.UseShellExecute = false;
        var peer = new TransportPeer(new Process { StartInfo = info, EnableRaisingEvents = true });
        peer.Run();
        return peer;
    }

    private void Run()
    {
        _process.OutputDataReceived += (_, e) => Line(e.Data, ready: true);
        _process.ErrorDataReceived += (_, e) => Line(e.Data, ready: false);
        _process.Exited += (_, _) => _ready.TrySetException(new InvalidOperationException(
            $"the transport peer exited ({ExitCode()}) before it was ready:\n{Output()}"));
        _process.Start();
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
        try
        {
            if (!_ready.Task.Wait(TimeSpan.FromMinutes(2)))
                throw new TimeoutException($"the transport peer was not ready within 2 minutes:\n{Output()}");
        }
        catch
        {
            Dispose();
            throw;
        }
    }

    private void Line(string? line, bool ready)
    {
        if (line is null) return;
        lock (_lines) _lines.AppendLine(line);
        if (ready && PeerReady.Parse(line) is { } r) _ready.TrySetResult(r);
    }

    private string Output() { lock (_lines) return _lines.ToString(); }

    private string ExitCode() { try { return $"exit code {_process.ExitCode}"; } catch (InvalidOperationException) { return "no exit code"; } }

    /// <summary>
    /// This very program, started again: the apphost when running as <c>fedactors</c>; otherwise (<c>dotnet fedactors.dll</c>,
    /// a test host) the dotnet host with fedactors.dll, the <c>fedactors</c> command's assembly, beside this one.
    /// </summary>
    private static ProcessStartInfo ThisProgram()
    {
        var self = Environment.ProcessPath;
        if (self is not null && Path.GetFileNameWithoutExtension(self) == "fedactors") return new ProcessStartInfo(self);
        var dotnet = self is not null && Path.GetFileNameWithoutExtension(self) == "dotnet"
            ? self
            : Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") ?? "dotnet";
        var info = new ProcessStartInfo(dotnet);
        info.ArgumentList.Add(Path.Combine(Path.GetDirectoryName(typeof(TransportPeer).Assembly.Location)!, "fedactors.dll"));
        return info;
    }

    public void Dispose()
    {
        try
        {
            try { _process.StandardInput.Close(); }
            catch (Exception e) when (e is IOException or InvalidOperationException) { }
            if (!_process.WaitForExit(TimeSpan.FromSeconds(15))) _process.Kill(entireProcessTree: true);
            _process.WaitForExit();
        }
        catch (InvalidOperationException) { } // never started
        finally { _process.Dispose(); }
    }
}
