using FedActors.Host.Benchmarks;

namespace FedActors.Tests.Host;

[Collection(InProcessRuns.Name)]
public sealed class ScaleBenchmarkSpecs : IDisposable
{
    private readonly string _runs = Directory.CreateTempSubdirectory("fedactors-scale-spec-").FullName;

    public void Dispose() => Directory.Delete(_runs, recursive: true);

    [Fact]
    public void Should_take_drift_as_the_slope_of_the_second_half()
    {
        // The first half settles (here it falls); the second rises 1 MB a round, with noise that cancels in the fit.
        var drift = new DriftRow(1000, [500, 420, 400, 100.5, 101, 102.5, 103]);

        Assert.Equal(4, drift.SteadyFromRound);
        Assert.Equal(0.9, drift.SteadyMbPerRound, 10);
    }

    [Fact]
    public void Should_count_an_idle_hospital_as_the_peak_growth_per_registered_hospital()
    {
        ScaleRow[] rows = [new(100, 10, 3, 300, 1), new(1000, 10, 3, 310, 1), new(10_100, 10, 3, 400, 1)];

        Assert.Equal(100.0 * 1024 * 1024 / 10_000, ScaleBenchmark.BytesPerIdleHospital(rows), 6);
    }

    [Fact]
    public void Should_run_a_round_sampler_over_a_passivated_run()
    {
        var drift = ScaleBenchmark.Drift(_runs, registered: 12, perRound: 3, rounds: 3);

        Assert.Equal(3, drift.ResidentMbAfterRound.Count);
        Assert.All(drift.ResidentMbAfterRound, mb => Assert.True(mb > 0));
    }
}
