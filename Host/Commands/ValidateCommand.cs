using System.Globalization;
using FedActors.Training.Data;

namespace FedActors.Host.Commands;

/// <summary>
/// <c>fedactors validate</c>'s data check: every hospital's training shard opened as a run would build it
/// (<see cref="FedActors.Training.Experiments.ExperimentSites.Inventory"/>) and printed as one table, so a run that
/// validates does not fail at round 1 on its data.
/// </summary>
public static class ValidateCommand
{
    /// <summary>Opens <paramref name="config"/>'s data and returns the per-hospital table (<see cref="Table"/>) it would train on.</summary>
    /// <param name="config">The validated experiment.</param>
    /// <exception cref="DataFormatException">A data file cannot be read or does not suit the experiment (the message names the file, and the hospital where one file is one hospital's).</exception>
    public static string DataTable(FedActors.Host.Configuration.ExperimentConfig config) =>
        Table(FedActors.Training.Experiments.ExperimentSites.Inventory(config.Experiment));

    /// <summary>
    /// The data table: a header line, then one line per hospital (hospital, source, images, shape C×H×W, classes with the
    /// count of each, <c>a/b/c</c> by class index), then a total line.
    /// </summary>
    /// <param name="shards">Each hospital's shard, in hospital order.</param>
    public static string Table(IReadOnlyList<ShardSummary> shards)
    {
        var rows = shards.Select(s => new[]
        {
            s.HospitalId, s.Source, s.Images.ToString(CultureInfo.InvariantCulture), s.Shape,
            $"{s.ClassCounts.Count} ({string.Join('/', s.ClassCounts)})",
        }).ToList();
        var header = new[] { "hospital", "source", "images", "shape", "classes (images of each)" };
        var widths = header.Select((h, i) => rows.Select(r => r[i].Length).Append(h.Length).Max()).ToArray();
        string Line(string[] cells) => string.Join("  ", cells.Select((c, i) => i == 2 ? c.PadLeft(widths[i]) : c.PadRight(widths[i]))).TrimEnd();
        var total = shards.Count == 0 ? [] : Enumerable.Range(0, shards.Max(s => s.ClassCounts.Count))
            .Select(c => shards.Sum(s => c < s.ClassCounts.Count ? s.ClassCounts[c] : 0)).ToArray();
        return string.Join('\n', new[] { Line(header) }.Concat(rows.Select(Line))) + "\n" +
               $"data: {shards.Count} hospitals, {shards.Sum(s => (long)s.Images)} training images ({string.Join('/', total)} by class)";
    }
}
