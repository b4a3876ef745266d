using FedActors.Actors.Rounds;
using FedActors.Host.Configuration;
using FedActors.Host.Runs;

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
    public void Should_refuse_a_robust_rule_at_setup_for_a_method_that_aggregates_its_own_way_naming_key_and_method()
    {
        var config = ExperimentConfig.Load(null, [.. TinyRun.Overrides(_dir, seed: 1), "method=fedmoco", "rounds.aggregation=median"]);

        var e = Assert.Throws<ConfigError>(() => PreparedRun.Prepare(config, Path.Combine(_dir, "snapshots")));

        Assert.Contains("fedactors.rounds.aggregation is median", e.Message);
        Assert.Contains("method 'fedmoco'", e.Message);
    }
}
