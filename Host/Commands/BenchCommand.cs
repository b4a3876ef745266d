using System.Globalization;
using System.Text;
using FedActors.Host.Benchmarks;
using FedActors.Training;
using FedActors.Training.Benchmarks;

namespace FedActors.Host.Commands;

/// <summary><c>fedactors bench [name]</c>: measures and records into docs/benchmarks.md.</summary>
public static class BenchCommand
{
    public static readonly string[] Names = ["encoders", "aggregation"];

    public static int Execute(IReadOnlyList<string> args, TextWriter output)
    {
        var name = args.FirstOrDefault(a => !a.StartsWith('-')) ?? "encoders";
        var outPath = Option(args, "--out") ?? Path.Combine("docs", "benchmarks.md");
        var batches = (Option(args, "--batch") ?? "16,32").Split(',').Select(b => int.Parse(b, CultureInfo.InvariantCulture)).ToArray();
        var threads = int.Parse(Option(args, "--threads") ?? "0", CultureInfo.InvariantCulture);
        TorchRuntime.ConfigureThreads(threads);
        switch (name)
        {
            case "encoders":
                Encoders(batches, output, outPath, args);
                return 0;
            case "aggregation":
                Aggregation(int.Parse(Option(args, "--uploads") ?? "100", CultureInfo.InvariantCulture), output, outPath, args);
                return 0;
            default:
                throw new ArgumentException($"unknown benchmark '{name}' (known: {string.Join(", ", Names)})");
        }
    }

    private static void Encoders(int[] batches, TextWriter output, string outPath, IReadOnlyList<string> args)
    {
        var body = new StringBuilder();
        body.AppendLine("## Encoder training throughput");
        body.AppendLine();
        body.AppendLine($"Command: `{$"fedactors bench {string.Join(' ', args)}".TrimEnd()}`");
        body.AppendLine();
        body.AppendLine($"Machine: {BenchmarkReport.Machine()}");
        body.AppendLine();
        body.AppendLine("Forward + backward + SGD step on random single-channel images; peak = process VmHWM during the case.");
        body.AppendLine();
        body.AppendLine("| model | input | batch | images/s | peak MB |");
        body.AppendLine("|---|---|---|---|---|");
        foreach (var c in EncoderThroughput.StandardCases(batches))
        {
            var row = EncoderThroughput.Run([c], warmupSteps: 2, measuredSteps: 5)[0];
            var line = string.Create(CultureInfo.InvariantCulture,
                $"{row.Model} {row.ImageSize}px batch {row.BatchSize}: {row.ImagesPerSecond:F1} images/s, peak {row.PeakMemoryMb:F0} MB");
            output.WriteLine(line);
            body.AppendLine(string.Create(CultureInfo.InvariantCulture,
                $"| {row.Model} | {row.ImageSize}×{row.ImageSize} | {row.BatchSize} | {row.ImagesPerSecond:F1} | {row.PeakMemoryMb:F0} |"));
        }
        BenchmarkReport.WriteSection(outPath, "encoders", body.ToString());
        output.WriteLine($"wrote {outPath}");
    }

    /// <summary>Issue target: the weighted mean reads uploads at no less than half the speed of copying them.</summary>
    private const double AggregationTarget = 0.5;

    private static void Aggregation(int uploads, TextWriter output, string outPath, IReadOnlyList<string> args)
    {
        var row = AggregationThroughput.Run(uploads);
        var verdict = row.Ratio >= AggregationTarget ? "meets" : "MISSES";
        var line = string.Create(CultureInfo.InvariantCulture,
            $"aggregation: weighted mean of {row.Uploads} ResNet-18 updates ({row.BytesPerUpload / 1e6:F1} MB each) {row.MeanGigabytesPerSecond:F2} GB/s, copy {row.CopyGigabytesPerSecond:F2} GB/s, ratio {row.Ratio:F2} ({verdict} the {AggregationTarget} target)");
        output.WriteLine(line);
        var body = new StringBuilder();
        body.AppendLine("## Aggregation");
        body.AppendLine();
        body.AppendLine($"Command: `{$"fedactors bench {string.Join(' ', args)}".TrimEnd()}`");
        body.AppendLine();
        body.AppendLine($"Machine: {BenchmarkReport.Machine()}");
        body.AppendLine();
        body.AppendLine("The server's weighted mean (FedAvg, Fed-MAS, FedMoCo all use it) over distinct updates of ResNet-18's shapes, against a plain copy " +
                        "of the same tensors measured in the same run; GB/s of upload bytes read, best of 3 each. Target: ratio ≥ 0.5.");
        body.AppendLine();
        body.AppendLine("| uploads | MB each | weighted mean GB/s | copy GB/s | ratio | target |");
        body.AppendLine("|---|---|---|---|---|---|");
        body.AppendLine(string.Create(CultureInfo.InvariantCulture,
            $"| {row.Uploads} | {row.BytesPerUpload / 1e6:F1} | {row.MeanGigabytesPerSecond:F2} | {row.CopyGigabytesPerSecond:F2} | {row.Ratio:F2} | {verdict} |"));
        BenchmarkReport.WriteSection(outPath, "aggregation", body.ToString());
        output.WriteLine($"wrote {outPath}");
    }

    private static string? Option(IReadOnlyList<string> args, string name)
    {
        for (var i = 0; i < args.Count - 1; i++)
            if (args[i] == name) return args[i + 1];
        return null;
    }
}
