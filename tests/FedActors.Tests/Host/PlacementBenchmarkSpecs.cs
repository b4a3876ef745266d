using FedActors.Host.Benchmarks;

namespace FedActors.Tests.Host;

[Collection(InProcessRuns.Name)]
public sealed class PlacementBenchmarkSpecs : IDisposable
{
    private readonly string _runs = Directory.CreateTempSubdirectory("fedactors-placement-spec-").FullName;

    public void Dispose() => Directory.Delete(_runs, recursive: true);

    [Fact]
    public void Should_compute_makespans_smallest_first_over_every_order_and_longest_first()
    {
        // Sites of 3, 1 and 2 s on 2 slots. Smallest first: 1 | 2, then 3 at 1 → 4. Longest first: 3 | 2, then 1 at 2 → 3.
        // The six arrival orders give 4, 3, 4, 3, 3, 3: a mean of 20 / 6.
        var computed = Assert.Single(PlacementBenchmark.Compute([new("a", 30, 3), new("b", 10, 1), new("c", 20, 2)], 2));

        Assert.Equal((2, 4.0, 3.0), (computed.Slots, computed.Worst, computed.LongestFirst));
        Assert.Equal(20.0 / 6, computed.MeanArrival, 12);
        Assert.Equal(4.0 / 3, computed.WorstSpeedup, 12);
        Assert.Equal(6, PlacementBenchmark.Permutations([1, 2, 3]).Select(p => string.Join(",", p)).Distinct().Count());
    }

    [Fact]
    public void Should_end_on_the_same_model_whichever_placement_trains_the_sites()
    {
        var measured = PlacementBenchmark.Measure(_runs, rounds: 3, imagesPerHospital: 30, new InterleavingLimits(1, 1, 0, TimeSpan.MaxValue));

        // Placement changes who trains when, never what: every run of both placements ends on the same global model.
        Assert.True(measured.SameModel, string.Join(", ", measured.Baseline.Concat(measured.Variants[0].Runs).Select(r => r.FinalHash)));
        Assert.Equal(1, measured.Variants[0].Ratio.Pairs);
    }
}
