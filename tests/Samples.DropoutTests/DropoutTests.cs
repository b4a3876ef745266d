using FedActors.Host.Commands;
using FedActors.Host.Configuration;

namespace Samples.DropoutTests;

public sealed class DropoutTests : IDisposable
{
    private readonly string _runs = Directory.CreateTempSubdirectory("dropout-sample-").FullName;

    [Fact]
    public async Task A_hospital_dropped_in_round_2_is_left_out_of_that_round_only()
    {
        // Four tiny hospitals, three rounds; hospital-02 drops before training in round 2.
        var config = ExperimentConfig.Load(null,
        [
            "seed=7", $"runs-dir=\"{_runs}\"", "data.hospitals=4", "data.train-images-per-hospital=32",
            "data.test-images-per-hospital=16", "data.image-size=16", "model.encoder-widths=[8,8,16,16]",
            "model.projection-dim=16", "moco.queue-size=32", "moco.batch-size=8", "probe.steps=30",
            "rounds.count=3", "rounds.min-participants=3", "training-threads=2",
            "faults.events=[{ kind = drop, hospital = hospital-02, round = 2 }]",
        ]);

        var result = await RunCommand.ExecuteAsync(config, TextWriter.Null);

        var round2 = result.Completed.Rounds[1];
        Assert.Equal(["hospital-02"], round2.Dropped);
        Assert.Equal(["hospital-01", "hospital-03", "hospital-04"], round2.Aggregated.Order());
        Assert.DoesNotContain("hospital-02", round2.AggregationWeights.Keys);
        Assert.False(round2.Skipped);
        // The other rounds: everyone in.
        Assert.All(new[] { result.Completed.Rounds[0], result.Completed.Rounds[2] }, r => Assert.Equal(4, r.Aggregated.Count));
    }

    public void Dispose() => Directory.Delete(_runs, recursive: true);
}
