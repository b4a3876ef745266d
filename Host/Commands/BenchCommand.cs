using System.Globalization;
using System.Text;
using FedActors.Host.Benchmarks;
using FedActors.Training;
using FedActors.Training.Benchmarks;

namespace FedActors.Host.Commands;

/// <summary><c>fedactors bench [name]</c>: measures and records into docs/benchmarks.md.</summary>
public static class BenchCommand
{
    public static readonly string[] Names = ["encoders"];

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

    private static string? Option(IReadOnlyList<string> args, string name)
    {
        for (var i = 0; i < args.Count - 1; i++)
            if (args[i] == name) return args[i + 1];
        return null;
    }
}
