using System.Runtime.InteropServices;
using System.Text;
using FedActors.Training;

namespace FedActors.Host.Benchmarks;

/// <summary>
/// <c>docs/benchmarks.md</c>: one section per benchmark, each replaced in place when that
/// benchmark runs again, so figures from different runs never mix within a section.
/// </summary>
public static class BenchmarkReport
{
    private const string Title = "# FedActors benchmarks\n\nEach section is written by `fedactors bench <name>`; rerun it to refresh. Figures depend on the machine and its load.\n";

    public static void WriteSection(string path, string name, string body)
    {
        var begin = $"<!-- bench:{name} -->";
        var end = $"<!-- /bench:{name} -->";
        var text = File.Exists(path) ? File.ReadAllText(path) : Title;
        var section = $"{begin}\n{body.TrimEnd()}\n{end}";
        var start = text.IndexOf(begin, StringComparison.Ordinal);
        var stop = text.IndexOf(end, StringComparison.Ordinal);
        text = start >= 0 && stop > start
            ? text[..start] + section + text[(stop + end.Length)..]
            : text.TrimEnd() + "\n\n" + section + "\n";
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
        File.WriteAllText(path, text);
    }

    /// <summary>A section's start: its title, the command that wrote it and the machine, each followed by a blank line.</summary>
    public static StringBuilder Section(string title, IReadOnlyList<string> args) =>
        new StringBuilder().AppendLine($"## {title}").AppendLine()
            .AppendLine($"Command: `{$"fedactors bench {string.Join(' ', args)}".TrimEnd()}`").AppendLine()
            .AppendLine($"Machine: {Machine()}").AppendLine();

    /// <summary>A markdown table's header row and separator; the caller appends the rows.</summary>
    public static StringBuilder AppendTableHead(this StringBuilder body, params string[] columns) =>
        body.AppendLine($"| {string.Join(" | ", columns)} |").AppendLine("|" + string.Concat(columns.Select(_ => "---|")));

    /// <summary>What the figures were measured on.</summary>
    public static string Machine()
    {
        var cpu = File.Exists("/proc/cpuinfo")
            ? File.ReadLines("/proc/cpuinfo").FirstOrDefault(l => l.StartsWith("model name", StringComparison.Ordinal))?.Split(':', 2)[1].Trim()
            : null;
        var memory = GC.GetGCMemoryInfo().TotalAvailableMemoryBytes / (1024.0 * 1024 * 1024);
        var sb = new StringBuilder();
        sb.Append($"{cpu ?? RuntimeInformation.ProcessArchitecture.ToString()}, {Environment.ProcessorCount} cores, {memory:F0} GiB; ");
        sb.Append($"{RuntimeInformation.OSDescription}; .NET {Environment.Version}; ");
        sb.Append($"libtorch intra-op threads {TorchSharp.torch.get_num_threads()}; ");
        sb.Append($"CPU convolutions: {TorchRuntime.CpuConvolutions}");
        return sb.ToString();
    }
}
