using System.Diagnostics;

namespace FedActors.Training.Benchmarks;

/// <summary>This process's resident memory, as Linux reports it (VmRSS, VmHWM), for benchmarks.</summary>
public static class ProcessMemory
{
    /// <summary>
    /// Resets the peak (VmHWM) to the current resident size: writing 5 to clear_refs (Linux ≥ 4.0). Elsewhere, or
    /// if refused, peaks are cumulative.
    /// </summary>
    public static void ResetPeak()
    {
        try { File.WriteAllText("/proc/self/clear_refs", "5"); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { }
    }

    public static double PeakMb() => StatusMb("VmHWM:") ?? Current(p => p.PeakWorkingSet64);

    public static double ResidentMb() => StatusMb("VmRSS:") ?? Current(p => p.WorkingSet64);

    private static double? StatusMb(string field)
    {
        const string status = "/proc/self/status";
        if (!File.Exists(status)) return null;
        var line = File.ReadLines(status).FirstOrDefault(l => l.StartsWith(field, StringComparison.Ordinal));
        return line is null ? null : long.Parse(line.Split([' ', '\t'], StringSplitOptions.RemoveEmptyEntries)[1]) / 1024.0;
    }

    private static double Current(Func<Process, long> bytes)
    {
        using var self = Process.GetCurrentProcess();
        return bytes(self) / (1024.0 * 1024.0);
    }
}
