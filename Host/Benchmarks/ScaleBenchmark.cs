using System.Globalization;
using System.Text;
using FedActors.Host.Commands;
using FedActors.Host.Configuration;
using FedActors.Training.Benchmarks;

namespace FedActors.Host.Benchmarks;

/// <summary>One registered-hospital count: peak resident memory and seconds per round with 100 hospitals per round.</summary>
public sealed record ScaleRow(int Registered, int PerRound, int Rounds, double PeakMb, double SecondsPerRound);

/// <summary>Resident memory after each round of a long run.</summary>
public sealed record DriftRow(int Registered, IReadOnlyList<double> ResidentMbAfterRound)
{
    /// <summary>Whether idle hospitals were passivated (each restore rebuilds a learner) or stayed resident.</summary>
    public bool Passivated { get; init; } = true;

    /// <summary>The managed heap after each round (what the GC holds, collected or not yet), to tell a managed leak from a native one.</summary>
    public IReadOnlyList<double> ManagedMbAfterRound { get; init; } = [];

    /// <summary>The first round of the second half: the first half lets pools, caches and the GC's budgets settle.</summary>
    public int SteadyFromRound => ResidentMbAfterRound.Count / 2 + 1;

    /// <summary>Least-squares slope of resident MB against round number over the second half.</summary>
    public double SteadyMbPerRound
    {
        get
        {
            var points = ResidentMbAfterRound.Select((mb, i) => (Round: i + 1.0, Mb: mb)).Skip(SteadyFromRound - 1).ToList();
            if (points.Count < 2) return 0;
            var meanRound = points.Average(p => p.Round);
            var meanMb = points.Average(p => p.Mb);
            return points.Sum(p => (p.Round - meanRound) * (p.Mb - meanMb)) / points.Sum(p => (p.Round - meanRound) * (p.Round - meanRound));
        }
    }
}

/// <summary>
/// The scale figures of issue 10: whole in-process runs (actors, passivated hospitals, small CNN, 16 images of 16 px per
/// hospital) at several registered counts with the same number selected per round, one after the other in this process,
/// smallest first; and one long run whose resident memory is read after every round.
/// </summary>
public static class ScaleBenchmark
{
    /// <summary>The tiny experiment every figure runs, as <c>--set</c> overrides.</summary>
    public static List<string> Overrides(string runsDirectory, int registered, int perRound, int rounds, bool passivate = true) =>
    [
        $"runs-dir=\"{runsDirectory}\"", $"data.hospitals={registered}", $"rounds.count={rounds}",
        $"rounds.sample-fraction={(double)perRound / registered:R}", $"rounds.min-participants={perRound}",
        "data.train-images-per-hospital=16", "data.test-images-per-hospital=2", "data.image-size=16",
        "model.encoder-widths=[8,8,16,16]", "model.projection-dim=16", "moco.batch-size=8", "moco.queue-size=32",
        "rounds.evaluate-every=0", $"passivate-hospitals={(passivate ? "on" : "off")}", "checkpoints.every=0", "probe.steps=10",
    ];

    public static ScaleRow Measure(string runsDirectory, int registered, int perRound, int rounds)
    {
        var config = ExperimentConfig.Load(null, Overrides(runsDirectory, registered, perRound, rounds));
        ProcessMemory.ResetPeak();
        var result = RunCommand.ExecuteAsync(config, TextWriter.Null).GetAwaiter().GetResult();
        return new ScaleRow(registered, perRound, rounds, ProcessMemory.PeakMb(), result.Completed.Rounds.Average(r => r.WallSeconds));
    }

    public static DriftRow Drift(string runsDirectory, int registered, int perRound, int rounds, bool passivate = true)
    {
        var config = ExperimentConfig.Load(null, Overrides(runsDirectory, registered, perRound, rounds, passivate));
        // What earlier runs in this process left for the collector is not this run's drift.
        GC.Collect();
        GC.WaitForPendingFinalizers();
        System.Runtime.GCSettings.LargeObjectHeapCompactionMode = System.Runtime.GCLargeObjectHeapCompactionMode.CompactOnce;
        GC.Collect(GC.MaxGeneration, GCCollectionMode.Aggressive, blocking: true, compacting: true);
        var sampler = new RoundSampler();
        RunCommand.ExecuteAsync(config, sampler).GetAwaiter().GetResult();
        return new DriftRow(registered, sampler.Resident) { ManagedMbAfterRound = sampler.Managed, Passivated = passivate };
    }

    /// <summary>
    /// Seconds per round with <paramref name="large"/> registered hospitals against <paramref name="small"/>, the same
    /// <paramref name="perRound"/> selected in each, whole runs interleaved (<see cref="InterleavedRounds"/>); with the
    /// peak resident memory of each large run (VmHWM, reset before it).
    /// </summary>
    /// <param name="runsDirectory">Where runs write.</param>
    /// <param name="small">Registered hospitals of the baseline (e.g. 100).</param>
    /// <param name="large">Registered hospitals compared with it (e.g. 100,000).</param>
    /// <param name="perRound">Hospitals selected per round in both.</param>
    /// <param name="rounds">Rounds per run (at least 3).</param>
    /// <param name="limits">How many blocks, how narrow, how long.</param>
    /// <param name="progress">Told of each block; may be null.</param>
    public static (InterleavedComparison Comparison, IReadOnlyList<double> LargePeakMb) CompareRegistered(string runsDirectory, int small, int large,
        int perRound, int rounds, InterleavingLimits limits, Action<string>? progress = null)
    {
        var peaks = new List<double>();
        TimedRounds Run(int registered)
        {
            ProcessMemory.ResetPeak();
            var result = RunCommand.ExecuteAsync(ExperimentConfig.Load(null, Overrides(runsDirectory, registered, perRound, rounds)), TextWriter.Null).GetAwaiter().GetResult();
            if (registered == large) peaks.Add(ProcessMemory.PeakMb());
            // Other hospitals train at each count, so the two counts' models differ; only the seconds are compared.
            return new TimedRounds(result.Completed.Rounds.Select(r => r.WallSeconds).ToList(), result.Completed.FinalGlobal.ContentHash);
        }
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var comparison = InterleavedRounds.Compare(($"{small} registered", () => Run(small)), [($"{large} registered", () => Run(large))], limits, () => clock.Elapsed, progress);
        return (comparison, peaks);
    }

    /// <summary>Reads the resident size whenever the run prints a round's line.</summary>
    private sealed class RoundSampler : TextWriter
    {
        public List<double> Resident { get; } = [];
        public List<double> Managed { get; } = [];
        public override Encoding Encoding => Encoding.UTF8;

        public override void WriteLine(string? value)
        {
            if (value is null || !value.StartsWith("round ", StringComparison.Ordinal)) return;
            Resident.Add(ProcessMemory.ResidentMb());
            Managed.Add(GC.GetTotalMemory(forceFullCollection: false) / (1024.0 * 1024));
        }
    }

    /// <summary>Bytes of resident memory each registered but idle hospital adds: the peak's growth per hospital between the smallest and largest count.</summary>
    public static double BytesPerIdleHospital(IReadOnlyList<ScaleRow> rows) =>
        (rows[^1].PeakMb - rows[0].PeakMb) * 1024 * 1024 / (rows[^1].Registered - rows[0].Registered);

    public static string Format(ScaleRow r) => string.Create(CultureInfo.InvariantCulture,
        $"scale: {r.Registered} registered, {r.PerRound} per round, {r.Rounds} rounds: peak {r.PeakMb:F0} MB, {r.SecondsPerRound:F2} s per round");
}
