using FedActors.Host.Benchmarks;

namespace FedActors.Tests.Host;

[Collection(InProcessRuns.Name)]
public sealed class EngineOverheadBenchmarkSpecs : IDisposable
{
    private readonly string _runs = Directory.CreateTempSubdirectory("fedactors-engine-spec-").FullName;

    public void Dispose() => Directory.Delete(_runs, recursive: true);

    [Fact]
    public void Should_do_the_same_work_through_the_actors_as_in_the_bare_loop_block_after_block()
    {
        var blocks = new List<string>();
        var row = EngineOverheadBenchmark.Measure(_runs, hospitals: 3, rounds: 3, imagesPerHospital: 8, imageSize: 16,
            new InterleavingLimits(MinBlocks: 2, MaxBlocks: 2, Width: 0, TimeCap: TimeSpan.MaxValue), blocks.Add);

        // The comparison is only of identical work if every run of the three ways ends on the very same global model.
        Assert.True(row.SameModel, $"final models: {string.Join(", ", row.Loop.Concat(row.Resident.Runs).Concat(row.Passivated.Runs).Select(r => r.FinalHash))}");
        Assert.Equal(2, row.Comparison.Blocks);
        Assert.Equal(2, blocks.Count);
        Assert.Equal("the block limit (2)", row.Comparison.Stopped);
        Assert.All(row.Loop.Concat(row.Resident.Runs).Concat(row.Passivated.Runs), way =>
        {
            Assert.Equal(3, way.Seconds.Count);
            Assert.All(way.Seconds, s => Assert.True(s > 0));
        });
        // Of 3 rounds only the middle one is steady: one paired ratio per block, round 2 over round 2 of the same block.
        Assert.Equal(2, row.Resident.Ratio.Pairs);
        var expected = row.Resident.Runs.Zip(row.Loop, (a, b) => a.Seconds[1] / b.Seconds[1]).Order().ToList();
        Assert.Equal((expected[0] + expected[1]) / 2, row.Resident.Ratio.Median, 12);
        Assert.Equal((expected[0], expected[1]), (row.Resident.Ratio.Low, row.Resident.Ratio.High));
    }

    [Fact]
    public void Should_refuse_fewer_rounds_than_a_steady_one_needs() =>
        Assert.Throws<ArgumentOutOfRangeException>(() => EngineOverheadBenchmark.Measure(_runs, hospitals: 2, rounds: 2, imagesPerHospital: 8, imageSize: 16,
            new InterleavingLimits(1, 1, 0, TimeSpan.MaxValue)));
}
