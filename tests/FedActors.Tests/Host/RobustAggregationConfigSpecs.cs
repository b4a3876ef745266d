using FedActors.Actors.Rounds;
using FedActors.Host.Configuration;
using FedActors.Host.Runs;
using FedActors.Host.Commands;
using FedActors.Training.Privacy;

namespace FedActors.Tests.Host;

/// <summary>The robust aggregation and update-norm keys as a config file gives them, and the methods they are for.</summary>
public sealed class RobustAggregationConfigSpecs : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("fedactors-robust-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void Should_read_the_rule_its_parameters_and_the_norm_bound_with_their_defaults()
    {
        var defaults = ExperimentConfig.Load(null, []).Coordinator;
        Assert.Equal(new AggregationRule(AggregationKind.FedAvg, 0.2, 1.0), defaults.Aggregation);
        Assert.Equal(new UpdateNormBound(UpdateNormMode.Reject, 10), defaults.UpdateNorm);

        var set = ExperimentConfig.Load(null, ["rounds.aggregation=trimmed-mean", "rounds.trim-fraction=0.1", "rounds.clip-factor=2",
            "rounds.update-norm-bound=clip", "rounds.update-norm-factor=50"]).Coordinator;
        Assert.Equal(new AggregationRule(AggregationKind.TrimmedMean, 0.1, 2), set.Aggregation);
        Assert.Equal(new UpdateNormBound(UpdateNormMode.Clip, 50), set.UpdateNorm);
        Assert.IsType<RobustStrategy>(set.CreateStrategy());
        var krum = ExperimentConfig.Load(null, ["rounds.aggregation=krum", "rounds.krum-byzantine=2", "rounds.krum-select=4"]).Coordinator;
        Assert.Equal(new AggregationRule(AggregationKind.Krum, 0.2, 1.0, KrumByzantine: 2, KrumSelect: 4), krum.Aggregation);
        Assert.Equal((1, 1), (defaults.Aggregation.KrumByzantine, defaults.Aggregation.KrumSelect));
        Assert.IsType<FedAvgStrategy>(defaults.CreateStrategy());
    }

    [Fact]
    public async Task Should_write_each_rounds_epsilon_to_metrics_csv_when_privacy_is_on()
    {
        var config = ExperimentConfig.Load(null, [.. TinyRun.Overrides(_dir, seed: 3, rounds: 3, minParticipants: 2), "method=fedmoco-plain",
            "rounds.sample-fraction=0.5", "rounds.dp-noise-multiplier=1.2", "rounds.dp-clip-norm=0.5", "rounds.dp-delta=1e-4"]);
        Assert.Equal(new ClientPrivacy(1.2, 0.5, 1e-4), config.Coordinator.Privacy);

        var result = await RunCommand.ExecuteAsync(config, TextWriter.Null).Within(TimeSpan.FromMinutes(3), "the run");

        var lines = File.ReadAllLines(Path.Combine(result.Directory.Path, RunDirectory.MetricsFile));
        var column = Array.IndexOf(lines[0].Split(','), "dp_epsilon");
        var epsilons = lines.Skip(1).Select(l => double.Parse(l.Split(',')[column], System.Globalization.CultureInfo.InvariantCulture)).ToList();
        // 2 of 4 hospitals a round: q = 0.5; round r has spent r rounds (printed with 6 significant digits).
        var expected = Enumerable.Range(1, 3).Select(r => RdpAccountant.Epsilon(0.5, 1.2, r, 1e-4).Epsilon).ToList();
        Assert.Equal(3, epsilons.Count);
        for (var r = 0; r < 3; r++) Assert.Equal(expected[r], epsilons[r], expected[r] * 1e-5);
        Assert.True(epsilons[2] > epsilons[0]);
    }

    [Fact]
    public void Should_refuse_privacy_for_a_method_that_aggregates_its_own_way_naming_key_and_method()
    {
        var config = ExperimentConfig.Load(null, [.. TinyRun.Overrides(_dir, seed: 1), "method=fedmoco", "rounds.dp-noise-multiplier=1"]);

        var e = Assert.Throws<ConfigError>(() => PreparedRun.Prepare(config, Path.Combine(_dir, "snapshots")));

        Assert.Contains("fedactors.rounds.dp-noise-multiplier", e.Message);
        Assert.Contains("method 'fedmoco'", e.Message);
    }

    [Fact]
    public void Should_refuse_a_robust_rule_at_setup_for_a_method_that_aggregates_its_own_way_naming_key_and_method()
    {
        var config = ExperimentConfig.Load(null, [.. TinyRun.Overrides(_dir, seed: 1), "method=fedmoco", "rounds.aggregation=median"]);

        var e = Assert.Throws<ConfigError>(() => PreparedRun.Prepare(config, Path.Combine(_dir, "snapshots")));

        Assert.Contains("fedactors.rounds.aggregation is median", e.Message);
        Assert.Contains("method 'fedmoco'", e.Message);
    }
}
