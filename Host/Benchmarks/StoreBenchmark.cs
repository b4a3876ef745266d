using System.Globalization;
using FedActors.Actors.Hospitals;
using FedActors.Host.Commands;
using FedActors.Host.Configuration;

namespace FedActors.Host.Benchmarks;

/// <summary>
/// What the snapshot store costs a round (issue 24: snapshots of thousands of hospitals must not make a round wait on the
/// database): whole in-process runs of the scale benchmark's tiny experiment with every hospital selected every round and
/// passivated (so each hospital writes its snapshot and restores from it every round), on the file store against
/// PostgreSQL, interleaved in blocks (<see cref="InterleavedRounds"/>); every run must end on the same model.
/// </summary>
public static class StoreBenchmark
{
    /// <summary>The option naming the PostgreSQL connection string (else the environment's <c>FEDACTORS_PERSISTENCE_CONNECTION</c>).</summary>
    public const string ConnectionOption = "--connection";

    /// <summary>The tiny experiment, every one of <paramref name="hospitals"/> selected each round, on the file store or (with <paramref name="postgresql"/>) PostgreSQL.</summary>
    /// <param name="runsDirectory">Where runs write.</param>
    /// <param name="hospitals">Registered hospitals, all selected every round.</param>
    /// <param name="rounds">Rounds per run (at least 3).</param>
    /// <param name="postgresql">Snapshots to PostgreSQL rather than files.</param>
    /// <param name="connection">The connection string (null: the environment's).</param>
    public static List<string> Overrides(string runsDirectory, int hospitals, int rounds, bool postgresql, string? connection)
    {
        var overrides = ScaleBenchmark.Overrides(runsDirectory, hospitals, hospitals, rounds);
        if (!postgresql) return overrides;
        overrides.Add($"{PersistenceSettings.StoreKey}={PersistenceSettings.PostgreSqlStore}");
        if (connection is not null)
            overrides.Add($"{PersistenceSettings.ConnectionKey}=\"{connection.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("\"", "\\\"", StringComparison.Ordinal)}\"");
        return overrides;
    }

    /// <summary>Seconds per round on PostgreSQL against the file store, whole runs interleaved.</summary>
    /// <param name="runsDirectory">Where runs write (each run its own directory, so each its own table).</param>
    /// <param name="hospitals">Registered hospitals, all selected every round.</param>
    /// <param name="rounds">Rounds per run (at least 3).</param>
    /// <param name="connection">The connection string (null: the environment's).</param>
    /// <param name="limits">How many blocks, how narrow, how long.</param>
    /// <param name="progress">Told of each block; may be null.</param>
    public static InterleavedComparison Compare(string runsDirectory, int hospitals, int rounds, string? connection, InterleavingLimits limits, Action<string>? progress = null)
    {
        TimedRounds Run(bool postgresql)
        {
            var config = ExperimentConfig.Load(null, Overrides(runsDirectory, hospitals, rounds, postgresql, connection));
            var result = RunCommand.ExecuteAsync(config, TextWriter.Null).GetAwaiter().GetResult();
            return new TimedRounds(result.Completed.Rounds.Select(r => r.WallSeconds).ToList(), result.Completed.FinalGlobal.ContentHash);
        }
        var clock = System.Diagnostics.Stopwatch.StartNew();
        return InterleavedRounds.Compare(("file", () => Run(false)), [("postgresql", () => Run(true))], limits, () => clock.Elapsed, progress);
    }

    /// <summary><paramref name="args"/> with the connection string's password taken out, for the report's command line.</summary>
    /// <param name="args">The bench command's arguments.</param>
    public static IReadOnlyList<string> WithoutPassword(IReadOnlyList<string> args) =>
        args.Select((a, i) => i > 0 && args[i - 1] == ConnectionOption ? $"\"{SnapshotStoreSettings.WithoutPassword(a)}\"" : a).ToList();

    /// <summary>The median seconds of the steady rounds (not the first, not the last) over <paramref name="runs"/>.</summary>
    /// <param name="runs">Runs of one variant.</param>
    public static double MedianSteadySeconds(IReadOnlyList<TimedRounds> runs)
    {
        var steady = runs.SelectMany(r => r.Seconds.Skip(1).Take(r.Seconds.Count - 2)).Order().ToList();
        return steady.Count == 0 ? double.NaN : steady.Count % 2 == 1 ? steady[steady.Count / 2] : (steady[steady.Count / 2 - 1] + steady[steady.Count / 2]) / 2;
    }

    /// <summary>One line of the comparison, for the console.</summary>
    /// <param name="hospitals">Hospitals per round.</param>
    /// <param name="c">The comparison.</param>
    public static string Format(int hospitals, InterleavedComparison c) => string.Create(CultureInfo.InvariantCulture,
        $"store: {hospitals} hospitals per round, {c.Blocks} blocks: file {MedianSteadySeconds(c.Baseline):F2} s / round, postgresql {MedianSteadySeconds(c.Variants[0].Runs):F2} s / round, " +
        $"postgresql / file {c.Variants[0].Ratio}; same final model: {(c.SameModel ? "yes" : "NO")}");
}
