namespace FedActors.Tests.Host;

/// <summary>
/// Specs that run whole experiments in this process: one at a time, since each keeps the cores
/// busy and all share the process's libtorch settings (a thread count one run sets is every run's).
/// </summary>
[CollectionDefinition(Name)]
public sealed class InProcessRuns
{
    public const string Name = "in-process runs";
}

/// <summary>A run small enough to take seconds: 4 hospitals of 32 images of 16 px, a tiny encoder.</summary>
public static class TinyRun
{
    /// <summary>The <c>--set</c> values of a tiny run writing under <paramref name="runsRoot"/>.</summary>
    public static List<string> Overrides(string runsRoot, ulong seed, int rounds = 2, int minParticipants = 4) =>
    [
        $"seed={seed}", $"runs-dir=\"{runsRoot}\"", "data.hospitals=4", "data.train-images-per-hospital=32",
        "data.test-images-per-hospital=16", "data.image-size=16", "model.encoder-widths=[8,8,16,16]",
        "model.projection-dim=16", "moco.queue-size=32", "moco.batch-size=8", $"rounds.count={rounds}",
        $"rounds.min-participants={minParticipants}", "probe.steps=30", "training-threads=2",
    ];

    /// <summary>The same, as command-line arguments of the <c>fedactors</c> executable.</summary>
    public static IEnumerable<string> Arguments(IEnumerable<string> overrides) => overrides.SelectMany(o => new[] { "--set", o });

    /// <summary>The rounds of a run's metrics.csv, in file order.</summary>
    public static List<string> MetricsRounds(string runDirectory) =>
        File.ReadAllLines(Path.Combine(runDirectory, FedActors.Host.Runs.RunDirectory.MetricsFile)).Skip(1).Select(l => l.Split(',')[0]).ToList();
}
