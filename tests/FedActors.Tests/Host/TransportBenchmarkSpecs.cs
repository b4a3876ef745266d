using System.Diagnostics;
using FedActors.Host.Benchmarks;

namespace FedActors.Tests.Host;

/// <summary>
/// The transport benchmark's machinery with a payload of about 1 MB: a real peer process of <c>fedactors</c>, the real fetch
/// path and a raw socket. What it measures depends on the machine, so only that it measured is checked, never how fast.
/// </summary>
public class TransportBenchmarkSpecs
{
    [Fact]
    public void Should_fetch_the_payload_byte_identical_from_a_peer_process_and_measure_both_rates()
    {
        var row = TransportBenchmark.Measure(maxPayloadMegabytes: 1);

        Assert.InRange(row.PayloadBytes, 500_000, 1_000_000);
        Assert.Equal(TransportBenchmark.Payload(1).ContentHash, row.OfferedHash);
        Assert.Equal(row.OfferedHash, row.FetchedHash);
        Assert.Equal(row.OfferedHash, row.ChunkedHash);
        Assert.True(row.ChunkedMegabytesPerSecond > 0, $"chunks {row.ChunkedMegabytesPerSecond} MB/s");
        Assert.True(row.TransportMegabytesPerSecond > 0, $"transport {row.TransportMegabytesPerSecond} MB/s");
        Assert.True(row.TcpMegabytesPerSecond > 0, $"TCP {row.TcpMegabytesPerSecond} MB/s");
        Assert.True(row.Costs.Chunks >= 1);
    }

    [Fact]
    public void Should_leave_no_peer_process_behind()
    {
        int id;
        using (var peer = TransportPeer.Start(maxPayloadMegabytes: 0.1)) id = peer.ProcessId;

        Assert.True(Gone(id), $"the transport peer {id} is still running");
    }

    private static bool Gone(int id)
    {
        try
        {
            using var process = Process.GetProcessById(id);
            return process.HasExited;
        }
        catch (ArgumentException)
        {
            return true; // no such process
        }
    }
}
