using FedActors.Host.Benchmarks;

namespace FedActors.Tests.Host;

[Collection(InProcessRuns.Name)]
public sealed class EngineOverheadBenchmarkSpecs : IDisposable
{
    private readonly string _runs = Directory.CreateTempSubdirectory("fedactors-engine-spec-").FullName;

    public void Dispose() => Directory.Delete(_runs, recursive: true);

    [Fact]
    public void Should_do_the_same_work_through_the_actors_as_in_the_bare_loop()
    {
        var row = EngineOverheadBenchmark.Measure(_runs, hospitals: 3, rounds: 3, imagesPerHospital: 8, imageSize: 16);

        // The comparison is only of identical work if all three end on the very same global model.
        Assert.True(row.SameModel, $"bare loop ended on {row.Loop.FinalHash}, resident actors on {row.Resident.FinalHash}, passivated on {row.Passivated.FinalHash}");
        Assert.All(new[] { row.Loop, row.Resident, row.Passivated }, way =>
        {
            Assert.Equal(3, way.Seconds.Count);
            Assert.All(way.Seconds, s => Assert.True(s > 0));
            Assert.Equal(way.Seconds[1], way.SteadySecondsPerRound); // of 3 rounds only the middle one is steady
        });
        Assert.Equal(row.Resident.Seconds[1] / row.Loop.Seconds[1], row.Ratio, 12);
    }

    [Fact]
    public void Should_refuse_fewer_rounds_than_a_steady_one_needs() =>
        Assert.Throws<ArgumentOutOfRangeException>(() => EngineOverheadBenchmark.Measure(_runs, hospitals: 2, rounds: 2, imagesPerHospital: 8, imageSize: 16));
}
