using System.Globalization;
using System.Text;
using FedActors.Host.Benchmarks;
using FedActors.Host.Configuration;
using FedActors.Training;
using FedActors.Training.Benchmarks;

namespace FedActors.Host.Commands;

/// <summary><c>fedactors bench [name]</c>: measures and records into docs/benchmarks.md.</summary>
public static class BenchCommand
{
    public static readonly string[] Names = ["encoders", "engine", "aggregation", "scale", "leases", "transport", "placement", "store"];

    public static int Execute(IReadOnlyList<string> args, TextWriter output)
    {
        var name = args.FirstOrDefault(a => !a.StartsWith('-')) ?? "encoders";
        var outPath = Option(args, "--out") ?? Path.Combine("docs", "benchmarks.md");
        var batches = (Option(args, "--batch") ?? "16,32").Split(',').Select(b => int.Parse(b, CultureInfo.InvariantCulture)).ToArray();
        var threads = int.Parse(Option(args, "--threads") ?? "0", CultureInfo.InvariantCulture);
        TorchRuntime.ConfigureThreads(threads);
        var payloadMb = Option(args, TransportBenchmark.PayloadOption) is { } mb ? double.Parse(mb, CultureInfo.InvariantCulture) : (double?)null;
        // The second process of `bench transport`, started by the first: not a benchmark of its own.
        if (name == "transport" && args.Contains(TransportBenchmark.PeerOption)) return TransportBenchmark.RunPeer(payloadMb, Console.In, output);
        switch (name)
        {
            case "encoders":
                Encoders(batches, output, outPath, args);
                return 0;
            case "scale":
                // --large N: only the comparison of N registered hospitals with 100 (its own section); else the standard counts.
                if (Option(args, "--large") is null)
                    Scale(int.Parse(Option(args, "--rounds") ?? "5", CultureInfo.InvariantCulture),
                        int.Parse(Option(args, "--drift-rounds") ?? "50", CultureInfo.InvariantCulture), output, outPath, args);
                else if (Option(args, "--large") is { } large)
                    LargeScale(int.Parse(large, CultureInfo.InvariantCulture), int.Parse(Option(args, "--rounds") ?? "5", CultureInfo.InvariantCulture),
                        int.Parse(Option(args, "--drift-rounds") ?? "50", CultureInfo.InvariantCulture),
                        TimeSpan.FromMinutes(double.Parse(Option(args, "--max-minutes") ?? "60", CultureInfo.InvariantCulture)), output, outPath, args);
                return 0;
            case "engine":
                Engine(int.Parse(Option(args, "--hospitals") ?? "100", CultureInfo.InvariantCulture),
                    int.Parse(Option(args, "--rounds") ?? "6", CultureInfo.InvariantCulture),
                    int.Parse(Option(args, "--images") ?? "32", CultureInfo.InvariantCulture), threads,
                    new InterleavingLimits(
                        MinBlocks: int.Parse(Option(args, "--min-blocks") ?? "3", CultureInfo.InvariantCulture),
                        MaxBlocks: int.Parse(Option(args, "--max-blocks") ?? "12", CultureInfo.InvariantCulture),
                        Width: EngineOverheadTarget - 1,
                        TimeCap: TimeSpan.FromMinutes(double.Parse(Option(args, "--max-minutes") ?? "30", CultureInfo.InvariantCulture))),
                    output, outPath, args);
                return 0;
            case "store":
                // The file store against PostgreSQL (persistence.store), every hospital snapshotting and restoring every round.
                Store(int.Parse(Option(args, "--hospitals") ?? "1000", CultureInfo.InvariantCulture),
                    int.Parse(Option(args, "--rounds") ?? "5", CultureInfo.InvariantCulture), Option(args, StoreBenchmark.ConnectionOption),
                    new InterleavingLimits(
                        MinBlocks: int.Parse(Option(args, "--min-blocks") ?? "2", CultureInfo.InvariantCulture),
                        MaxBlocks: int.Parse(Option(args, "--max-blocks") ?? "6", CultureInfo.InvariantCulture),
                        Width: 0.1,
                        TimeCap: TimeSpan.FromMinutes(double.Parse(Option(args, "--max-minutes") ?? "60", CultureInfo.InvariantCulture))),
                    output, outPath, StoreBenchmark.WithoutPassword(args));
                return 0;
            case "aggregation":
                Aggregation(int.Parse(Option(args, "--uploads") ?? "100", CultureInfo.InvariantCulture), output, outPath, args);
                return 0;
            case "leases":
                // One intra-op thread per job unless told otherwise: libtorch's pool is process-wide, and a slot should be one core's work.
                TorchRuntime.ConfigureThreads(threads > 0 ? threads : 1);
                Leases((Option(args, "--slots") ?? "1,2,4").Split(',').Select(s => int.Parse(s, CultureInfo.InvariantCulture)).ToArray(),
                    int.Parse(Option(args, "--training-threads") ?? "0", CultureInfo.InvariantCulture),
                    LeaseWorkload.Standard with
                    {
                        Jobs = int.Parse(Option(args, "--jobs") ?? "32", CultureInfo.InvariantCulture),
                        StepsPerJob = int.Parse(Option(args, "--steps") ?? "3", CultureInfo.InvariantCulture),
                    }, output, outPath, args);
                return 0;
            case "transport":
                Transport(payloadMb, output, outPath, args);
                return 0;
            case "placement":
                Placement(int.Parse(Option(args, "--rounds") ?? "5", CultureInfo.InvariantCulture),
                    int.Parse(Option(args, "--images") ?? "200", CultureInfo.InvariantCulture),
                    new InterleavingLimits(
                        MinBlocks: int.Parse(Option(args, "--min-blocks") ?? "3", CultureInfo.InvariantCulture),
                        MaxBlocks: int.Parse(Option(args, "--max-blocks") ?? "10", CultureInfo.InvariantCulture),
                        Width: 0.1,
                        TimeCap: TimeSpan.FromMinutes(double.Parse(Option(args, "--max-minutes") ?? "20", CultureInfo.InvariantCulture))),
                    output, outPath, args);
                return 0;
            default:
                throw new ArgumentException($"unknown benchmark '{name}' (known: {string.Join(", ", Names)})");
        }
    }

    private static void Encoders(int[] batches, TextWriter output, string outPath, IReadOnlyList<string> args)
    {
        var body = BenchmarkReport.Section("Encoder training throughput", args);
        body.AppendLine("Forward + backward + SGD step on random single-channel images; peak = process VmHWM during the case.");
        body.AppendLine();
        body.AppendTableHead("model", "input", "batch", "images/s", "peak MB");
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

    /// <summary>Issue target: a round through the actors takes at most 5 % longer than the same work in a bare loop.</summary>
    private const double EngineOverheadTarget = 1.05;

    private static void Engine(int hospitals, int rounds, int images, int threads, InterleavingLimits limits, TextWriter output, string outPath, IReadOnlyList<string> args)
    {
        const int imageSize = 32;
        // libtorch's default, and one intra-op thread (where the default is more), unless --threads chose one.
        var libtorchDefault = TorchSharp.torch.get_num_threads();
        int[] intraOp = threads > 0 ? [threads] : libtorchDefault > 1 ? [libtorchDefault, 1] : [1];
        var runs = Directory.CreateTempSubdirectory("fedactors-bench-engine-").FullName;
        var body = BenchmarkReport.Section("Engine overhead", args); // the machine as it was, before the runs change the intra-op threads
        try
        {
            var rows = new List<(int IntraOp, EngineOverheadRow Row, string Verdict)>();
            foreach (var t in intraOp)
            {
                TorchRuntime.ConfigureThreads(t); // threads started from now on (the loop's, the training threads) take it
                var row = EngineOverheadBenchmark.Measure(runs, hospitals, rounds, images, imageSize, limits,
                    block => output.WriteLine($"  intra-op threads {t}, {block}"));
                var verdict = !row.SameModel ? "INVALID: the runs ended on different models"
                    : !row.Resident.Ratio.IsDecisive ? "UNDECIDED: too few paired rounds for a 90 % interval"
                    : row.Resident.Ratio.IsUnder(EngineOverheadTarget) ? $"meets the {EngineOverheadTarget} target: the whole interval is under it"
                    : row.Resident.Ratio.Low > EngineOverheadTarget ? $"MISSES the {EngineOverheadTarget} target: the whole interval is over it"
                    : $"MISSES the {EngineOverheadTarget} target: the interval reaches over it";
                rows.Add((t, row, verdict));
                output.WriteLine($"{EngineOverheadBenchmark.Format(row, verdict)}; intra-op threads {t}; stopped at {row.Comparison.Stopped}");
            }
            body.AppendLine($"The same FedMoCo-plain rounds of {hospitals} hospitals ({images} images of {imageSize} px each, small CNN 16-16-32-32, batch 16, " +
                            "one local epoch), every hospital selected every round, in one process, three ways: a bare sequential loop making the same " +
                            "learner and server calls (on a thread of its own, as a training thread is), and whole runs through the actors (coordinator, " +
                            "hospital actors with their snapshots, run directory; one hospital training at a time) with hospitals resident and passivated. " +
                            $"The three run in blocks, one {rounds}-round run of each per block, the order rotated from block to block; each steady round " +
                            "(not the first, which also builds the learners, nor the last, which also evaluates) of a run through the actors is divided by " +
                            "the same round of the same block's bare loop. The figure is the median of those paired ratios, with a distribution-free " +
                            "interval of the median (order statistics); blocks repeat until the intervals are at most " +
                            string.Create(CultureInfo.InvariantCulture, $"{limits.Width:G3} wide, {limits.MaxBlocks} blocks or {limits.TimeCap.TotalMinutes:G3} minutes. ") +
                            $"A target is met only when the whole interval is under it. All runs must end on the same global model. Target: actors / bare loop ≤ {EngineOverheadTarget}; " +
                            "the passivated ratio is what keeping idle hospitals out of memory costs when none is idle.");
            body.AppendLine();
            body.AppendTableHead("intra-op threads", "hospitals per round", "rounds per run", "blocks", "bare loop s / round (median)", "actors / bare loop", "passivated / bare loop", "same final model", "target");
            foreach (var (t, row, verdict) in rows)
                body.AppendLine(string.Create(CultureInfo.InvariantCulture,
                    $"| {t} | {row.Hospitals} | {row.Rounds} | {row.Comparison.Blocks} | {Median(row.Loop.Select(l => l.SteadySecondsPerRound)):F2} | {row.Resident.Ratio} | {row.Passivated.Ratio} | {(row.SameModel ? "yes" : "NO")} | {verdict.Split(' ')[0]} |"));
            body.AppendLine();
            foreach (var (t, row, _) in rows)
                for (var b = 0; b < row.Comparison.Blocks; b++)
                    body.AppendLine($"Block {b + 1} with {t} intra-op thread(s), seconds per round — bare loop: {Seconds(row.Loop[b])}; actors: {Seconds(row.Resident.Runs[b])}; passivated: {Seconds(row.Passivated.Runs[b])}.").AppendLine();
            if (rows.Any(r => !r.Row.Resident.Ratio.IsUnder(EngineOverheadTarget)))
            {
                body.AppendLine("Why a ratio misses: the bare loop has the cores to itself, while a run through the actors also snapshots " +
                                "each hospital (its learner state serialised on the training thread, then written to disk by the persistence plugin on " +
                                "another thread), records the round (metrics, events, the coordinator's round checkpoint, which the next round waits for) " +
                                "and passes messages. With libtorch's intra-op team as wide as the machine, every bit of that work takes a core from the " +
                                "team, whose parallel regions then wait for the thread that lost it. What would fix the rest: snapshots off the training " +
                                "thread and off the round's critical path, no wait on the round checkpoint, a core left to the engine.");
            }
            BenchmarkReport.WriteSection(outPath, "engine", body.ToString());
            output.WriteLine($"wrote {outPath}");
        }
        finally { Directory.Delete(runs, recursive: true); }
    }

    /// <summary>Issue target: placement makes a round of skewed sites at least this many times shorter on 2 slots.</summary>
    private const double PlacementTarget = 1.3;

    private static void Placement(int rounds, int images, InterleavingLimits limits, TextWriter output, string outPath, IReadOnlyList<string> args)
    {
        var runs = Directory.CreateTempSubdirectory("fedactors-bench-placement-").FullName;
        var body = BenchmarkReport.Section("Placement", args);
        try
        {
            var timings = PlacementBenchmark.TimeSites(ExperimentConfig.Load(null, PlacementBenchmark.Overrides(runs, rounds, images, "arrival")));
            var computed = PlacementBenchmark.Compute(timings, 2, 4, 8);
            foreach (var c in computed)
                output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"placement, computed on recorded times, {c.Slots} slots: smallest first {c.Worst:F2} s, any order (mean) {c.MeanArrival:F2} s, longest first {c.LongestFirst:F2} s; {c.WorstSpeedup:F2}× / {c.MeanSpeedup:F2}× shorter"));
            var measured = PlacementBenchmark.Measure(runs, rounds, images, limits, block => output.WriteLine($"  {block}"));
            var speedup = measured.Variants[0].Ratio; // arrival over longest-first seconds per round
            var verdict = !measured.SameModel ? "INVALID: the runs ended on different models"
                : !speedup.IsDecisive ? "UNDECIDED: too few paired rounds for a 90 % interval"
                : speedup.Low >= PlacementTarget ? $"meets the {PlacementTarget}× target" : $"MISSES the {PlacementTarget}× target";
            output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"placement, measured on 2 slots, {measured.Blocks} interleaved blocks: round {speedup} times shorter with longest-first ({verdict}); same final model: {(measured.SameModel ? "yes" : "NO")}"));
            body.AppendLine($"Six sites sized like FLamby ISIC-2019's centres ({string.Join(" / ", PlacementBenchmark.SiteSizes.Reverse())}, scaled to {images} training images " +
                            "per site on average), supervised FedAvg on synthetic lesions, every site every round. Computed: each site's local round timed " +
                            "alone (after a warm-up), then the makespan of a round that starts every site at once, first come first served (the sites " +
                            "arriving smallest first, and averaged over every arrival order) against longest first (`devices.placement = longest-first`). " +
                            $"Measured: whole {rounds}-round runs on 2 slots (training-threads = 2, one intra-op thread each), arrival order against " +
                            "longest-first, interleaved in blocks; each steady round paired with the same round of the same block; the figure is how many " +
                            $"times shorter a round is, the median with a distribution-free interval. Target: ≥ {PlacementTarget}× on 2 slots (whole interval).");
            body.AppendLine();
            body.AppendTableHead("site", "samples", "seconds alone");
            foreach (var t in timings) body.AppendLine(string.Create(CultureInfo.InvariantCulture, $"| {t.HospitalId} | {t.Samples} | {t.Seconds:F3} |"));
            body.AppendLine();
            body.AppendTableHead("slots", "smallest first s", "any order s (mean)", "longest first s", "× shorter (smallest first)", "× shorter (any order)");
            foreach (var c in computed)
                body.AppendLine(string.Create(CultureInfo.InvariantCulture, $"| {c.Slots} | {c.Worst:F2} | {c.MeanArrival:F2} | {c.LongestFirst:F2} | {c.WorstSpeedup:F2} | {c.MeanSpeedup:F2} |"));
            body.AppendLine();
            body.AppendTableHead("measured on", "blocks", "longest-first s / round (median)", "× shorter with longest-first", "same final model", "target");
            body.AppendLine(string.Create(CultureInfo.InvariantCulture,
                $"| 2 slots | {measured.Blocks} | {Median(measured.Baseline.Select(b => b.SteadySecondsPerRound)):F2} | {speedup} | {(measured.SameModel ? "yes" : "NO")} | {verdict.Split(' ')[0]} |"));
            BenchmarkReport.WriteSection(outPath, "placement", body.ToString());
            output.WriteLine($"wrote {outPath}");
        }
        finally { Directory.Delete(runs, recursive: true); }
    }

    private static double Median(IEnumerable<double> values) => RatioInterval.Of(values.ToList()).Median;

    private static string DriftVerdict(DriftRow d) => d.SteadyMbPerRound < DriftTargetMbPerRound ? "meets" : "MISSES";

    private static string EveryFifth(IReadOnlyList<double> perRound) =>
        string.Join(", ", perRound.Select((mb, i) => (mb, round: i + 1)).Where(x => x.round % 5 == 0).Select(x => string.Create(CultureInfo.InvariantCulture, $"{x.round}: {x.mb:F0}")));

    private static string Seconds(TimedRounds rounds) =>
        string.Join(", ", rounds.Seconds.Select(s => s.ToString("F2", CultureInfo.InvariantCulture))) + " s";

    /// <summary>Issue target: the weighted mean reads uploads at no less than half the speed of copying them.</summary>
    private const double AggregationTarget = 0.5;

    private static void Aggregation(int uploads, TextWriter output, string outPath, IReadOnlyList<string> args)
    {
        var row = AggregationThroughput.Run(uploads);
        var verdict = row.Ratio >= AggregationTarget ? "meets" : "MISSES";
        output.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"aggregation: weighted mean of {row.Uploads} ResNet-18 updates ({row.BytesPerUpload / 1e6:F1} MB each) {row.MeanGigabytesPerSecond:F2} GB/s, copy {row.CopyGigabytesPerSecond:F2} GB/s, ratio {row.Ratio:F2} ({verdict} the {AggregationTarget} target)"));
        WriteOneRowSection(output, outPath, "aggregation", BenchmarkReport.Section("Aggregation", args),
            "The server's weighted mean (FedAvg, Fed-MAS, FedMoCo all use it) over distinct updates of ResNet-18's shapes, against a plain copy " +
            "of the same tensors measured in the same run; GB/s of upload bytes read, best of 3 each. Target: ratio ≥ 0.5.",
            ["uploads", "MB each", "weighted mean GB/s", "copy GB/s", "ratio", "target"],
            string.Create(CultureInfo.InvariantCulture,
                $"| {row.Uploads} | {row.BytesPerUpload / 1e6:F1} | {row.MeanGigabytesPerSecond:F2} | {row.CopyGigabytesPerSecond:F2} | {row.Ratio:F2} | {verdict} |"));
    }

    /// <summary>Writes a section of one description, a table of one row, then notes (a paragraph each); says where.</summary>
    private static void WriteOneRowSection(TextWriter output, string outPath, string name, StringBuilder body, string description, string[] columns,
        string row, params string[] notes)
    {
        body.AppendLine(description);
        body.AppendLine();
        body.AppendTableHead(columns).AppendLine(row);
        foreach (var note in notes) body.AppendLine().AppendLine(note);
        BenchmarkReport.WriteSection(outPath, name, body.ToString());
        output.WriteLine($"wrote {outPath}");
    }

    /// <summary>Issue target: weights cross the cluster transport at no less than half the speed of raw loopback TCP.</summary>
    private const double TransportTarget = 0.5;

    private static void Transport(double? payloadMb, TextWriter output, string outPath, IReadOnlyList<string> args)
    {
        var row = TransportBenchmark.Measure(payloadMb);
        var verdict = row.Ratio >= TransportTarget ? "meets" : "MISSES";
        output.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"transport: {row.PayloadBytes / 1e6:F1} MB over the cluster transport {row.TransportMegabytesPerSecond:F1} MB/s (in chunks over remoting {row.ChunkedMegabytesPerSecond:F1} MB/s), raw loopback TCP {row.TcpMegabytesPerSecond:F1} MB/s, ratio {row.Ratio:F2} ({verdict} the {TransportTarget} target)"));
        WriteOneRowSection(output, outPath, "transport", BenchmarkReport.Section("Transport", args),
            "One weights payload of ResNet-18's tensors between two processes on this machine: the second, started by the benchmark, " +
            "offers it through its weights transfer on a node's transport (the protocol serializer, Akka.Remote with the default 1 MB " +
            "frame, and the transfer's side channel: the blob over plain TCP, on a port the weights reference names); this one fetches it " +
            "as a hospital does and checks it, first as nodes do (side channel: the XxHash3 of the bytes against the one the owner sends after " +
            "them, and the content hash they carry against the reference), then as they fall back to when the side " +
            "channel is unreachable (256 KB chunks over remoting, the SHA-256 content hash recomputed). Against it, the same number of bytes read from a plain loopback TCP " +
            $"socket of the same process, measured in the same run. MB/s of payload bytes, after one warm-up, best of {TransportBenchmark.Repeats} each (this machine's loopback varies by half from one read to the next). Target: ratio ≥ 0.5.",
            ["payload MB", "transport MB/s", "chunks over remoting MB/s", "TCP MB/s", "ratio", "target"],
            string.Create(CultureInfo.InvariantCulture,
                $"| {row.PayloadBytes / 1e6:F1} | {row.TransportMegabytesPerSecond:F1} | {row.ChunkedMegabytesPerSecond:F1} | {row.TcpMegabytesPerSecond:F1} | {row.Ratio:F2} | {verdict} |"),
            row.Ratio >= TransportTarget ? [TransportBenchmark.WhereTimeGoes(row)] : [TransportBenchmark.WhereTimeGoes(row), TransportBenchmark.WhyMissed(row)]);
    }

    /// <summary>Issue targets: under 100 KB per idle hospital; resident memory flat over a long run.</summary>
    private const double IdleHospitalTargetBytes = 100 * 1024, DriftTargetMbPerRound = 0.5;

    private static void Scale(int rounds, int driftRounds, TextWriter output, string outPath, IReadOnlyList<string> args)
    {
        const int perRound = 100;
        var runs = Directory.CreateTempSubdirectory("fedactors-bench-scale-").FullName;
        try
        {
            var rows = new List<ScaleRow>();
            foreach (var registered in new[] { 100, 1000, 10_000 })
            {
                rows.Add(ScaleBenchmark.Measure(runs, registered, perRound, rounds));
                output.WriteLine(ScaleBenchmark.Format(rows[^1]));
            }
            var perIdle = ScaleBenchmark.BytesPerIdleHospital(rows);
            var idleVerdict = perIdle < IdleHospitalTargetBytes ? "meets" : "MISSES";
            output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"scale: {perIdle / 1024:F1} KB per idle hospital ({idleVerdict} the 100 KB target)"));
            // Passivated at 1,000 registered (every selection restores a learner), and resident at 100 (the same trainings, no rebuilds).
            DriftRow[] drifts = [ScaleBenchmark.Drift(runs, 1000, perRound, driftRounds), ScaleBenchmark.Drift(runs, perRound, perRound, driftRounds, passivate: false)];
            foreach (var d in drifts)
                output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"scale: drift at {d.Registered} registered, {(d.Passivated ? "passivated" : "resident")}: {d.ResidentMbAfterRound[d.SteadyFromRound - 1]:F0} MB after round {d.SteadyFromRound}, {d.ResidentMbAfterRound[^1]:F0} MB after round {d.ResidentMbAfterRound.Count}: {d.SteadyMbPerRound:F3} MB per round ({DriftVerdict(d)} the flat target, < {DriftTargetMbPerRound} MB per round)"));

            var body = BenchmarkReport.Section("Scale", args);
            body.AppendLine($"Whole in-process runs through the actors, {perRound} hospitals per round, idle hospitals passivated (`passivate-hospitals = on`), " +
                            "FedMoCo-plain on a small CNN (8, 8, 16, 16) with 16 images of 16 px per hospital; one process, smallest count first; peak = VmHWM of the run.");
            body.AppendLine();
            body.AppendTableHead("registered", "per round", "rounds", "peak MB", "s / round");
            foreach (var r in rows)
                body.AppendLine(string.Create(CultureInfo.InvariantCulture, $"| {r.Registered} | {r.PerRound} | {r.Rounds} | {r.PeakMb:F0} | {r.SecondsPerRound:F2} |"));
            body.AppendLine();
            body.AppendLine(string.Create(CultureInfo.InvariantCulture,
                $"Per idle hospital: {perIdle / 1024:F1} KB (peak growth from {rows[0].Registered} to {rows[^1].Registered} registered; target < 100 KB: {idleVerdict})."));
            body.AppendLine();
            body.AppendLine($"Drift over {driftRounds} rounds of {perRound} hospitals, each run from a fully compacted heap; slope = least squares of resident MB " +
                            $"against round over the second half (the first settles). Target: flat, < {DriftTargetMbPerRound} MB per round.");
            body.AppendLine();
            body.AppendTableHead("registered", "idle hospitals", "resident MB at the second half's start", "at the end", "MB per round", "target");
            foreach (var d in drifts)
                body.AppendLine(string.Create(CultureInfo.InvariantCulture,
                    $"| {d.Registered} | {(d.Passivated ? "passivated" : "resident")} | {d.ResidentMbAfterRound[d.SteadyFromRound - 1]:F0} (round {d.SteadyFromRound}) | {d.ResidentMbAfterRound[^1]:F0} | {d.SteadyMbPerRound:F3} | {DriftVerdict(d)} |"));
            body.AppendLine();
            foreach (var d in drifts)
                body.AppendLine($"{(d.Passivated ? "Passivated" : "Resident")}, resident MB after every 5th round: {EveryFifth(d.ResidentMbAfterRound)}; " +
                                $"managed heap MB (collected or not yet): {EveryFifth(d.ManagedMbAfterRound)}.").AppendLine();
            // Always said: what keeps the passivated line flat, and what it was without it.
            body.AppendLine("A passivated hospital is rebuilt at every restore, and TorchSharp 0.107 keeps native memory for every module it builds " +
                            "(see `ModuleDisposal`). So a restored learner is built into networks a stopped hospital parked (`NetworkPool`), loaded " +
                            "from its snapshot; with new networks at every restore the passivated line grew round after round.");
            if (drifts.Any(d => DriftVerdict(d) == "MISSES"))
                body.AppendLine().AppendLine("Why a drift misses: the managed heap column shows whether the growth is managed; native growth with a flat " +
                                             "managed heap comes from libtorch or TorchSharp (modules built, tensors not freed), and a resident line that " +
                                             "misses too points at the run's own buffers rather than at restores.");
            BenchmarkReport.WriteSection(outPath, "scale", body.ToString());
            output.WriteLine($"wrote {outPath}");
        }
        finally { Directory.Delete(runs, recursive: true); }
    }

    private static void Store(int hospitals, int rounds, string? connection, InterleavingLimits limits, TextWriter output, string outPath, IReadOnlyList<string> args)
    {
        var runs = Directory.CreateTempSubdirectory("fedactors-bench-store-").FullName;
        try
        {
            var comparison = StoreBenchmark.Compare(runs, hospitals, rounds, connection, limits, block => output.WriteLine($"  {block}"));
            output.WriteLine(StoreBenchmark.Format(hospitals, comparison));
            var body = BenchmarkReport.Section("Snapshot store: file against PostgreSQL", args);
            body.AppendLine($"Whole in-process runs of the scale section's tiny experiment with all {hospitals:N0} hospitals selected every round and passivated " +
                            $"(each writes its snapshot and restores from it every round), {rounds} rounds per run, on `persistence.store = file` against " +
                            "`postgresql`, interleaved in blocks; each steady round paired with the same round of the same block, the median ratio with a " +
                            "distribution-free interval. Every run must end on the same final model.");
            body.AppendLine();
            body.AppendTableHead("hospitals per round", "blocks", "file s / round (median)", "postgresql s / round (median)", "postgresql / file", "same final model");
            body.AppendLine(string.Create(CultureInfo.InvariantCulture,
                $"| {hospitals} | {comparison.Blocks} | {StoreBenchmark.MedianSteadySeconds(comparison.Baseline):F2} | {StoreBenchmark.MedianSteadySeconds(comparison.Variants[0].Runs):F2} | {comparison.Variants[0].Ratio} | {(comparison.SameModel ? "yes" : "NO")} |"));
            BenchmarkReport.WriteSection(outPath, "store", body.ToString());
            output.WriteLine($"wrote {outPath}");
        }
        finally { Directory.Delete(runs, recursive: true); }
    }

    /// <summary>Issue targets at 100,000 registered: peak under 4 GB, rounds at most 1.2 times as long as with 100, drift under 0.5 MB per round.</summary>
    private const double LargePeakTargetMb = 4096, LargeRoundRatioTarget = 1.2;

    private static void LargeScale(int large, int rounds, int driftRounds, TimeSpan cap, TextWriter output, string outPath, IReadOnlyList<string> args)
    {
        const int perRound = 100;
        var runs = Directory.CreateTempSubdirectory("fedactors-bench-scale-large-").FullName;
        try
        {
            var (comparison, peaks) = ScaleBenchmark.CompareRegistered(runs, perRound, large, perRound, rounds,
                new InterleavingLimits(MinBlocks: 2, MaxBlocks: 4, Width: LargeRoundRatioTarget - 1, TimeCap: cap), block => output.WriteLine($"  {block}"));
            var ratio = comparison.Variants[0].Ratio;
            var peak = peaks.Max();
            var drift = ScaleBenchmark.Drift(runs, large, perRound, driftRounds);
            string Verdict(bool met) => met ? "meets" : "MISSES";
            var ratioVerdict = !ratio.IsDecisive ? "UNDECIDED" : Verdict(ratio.IsUnder(LargeRoundRatioTarget));
            output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"scale: {large} registered, {perRound} per round: peak {peak:F0} MB ({Verdict(peak < LargePeakTargetMb)} the {LargePeakTargetMb} MB target); seconds per round against {perRound} registered {ratio} ({ratioVerdict} the {LargeRoundRatioTarget} target); drift {drift.SteadyMbPerRound:F3} MB per round over {driftRounds} rounds ({DriftVerdict(drift)} the {DriftTargetMbPerRound} target)"));
            var body = BenchmarkReport.Section("Scale: 100,000 registered", args);
            body.AppendLine($"The same tiny experiment as the scale section, {perRound} hospitals per round, passivated, with {large:N0} registered against {perRound}: " +
                            $"whole {rounds}-round runs interleaved in blocks ({comparison.Blocks} here), each steady round paired with the same round of the same block, " +
                            $"the median ratio with a distribution-free interval; peak = the highest VmHWM of the {large:N0}-registered runs; drift = least squares of " +
                            $"resident MB against round over the second half of one {driftRounds}-round run at {large:N0} registered. Targets: peak < {LargePeakTargetMb} MB, " +
                            $"ratio ≤ {LargeRoundRatioTarget} (whole interval), drift < {DriftTargetMbPerRound} MB per round.");
            body.AppendLine();
            body.AppendTableHead("registered", "per round", "peak MB", "s / round against 100 registered", "drift MB per round", "targets");
            body.AppendLine(string.Create(CultureInfo.InvariantCulture,
                $"| {large} | {perRound} | {peak:F0} | {ratio} | {drift.SteadyMbPerRound:F3} | peak {Verdict(peak < LargePeakTargetMb)}, ratio {ratioVerdict}, drift {DriftVerdict(drift)} |"));
            body.AppendLine();
            body.AppendLine($"Resident MB after every 5th round of the drift run: {EveryFifth(drift.ResidentMbAfterRound)}.");
            BenchmarkReport.WriteSection(outPath, "scale-large", body.ToString());
            output.WriteLine($"wrote {outPath}");
        }
        finally { Directory.Delete(runs, recursive: true); }
    }

    private static void Leases(int[] slotCounts, int trainingThreads, LeaseWorkload workload, TextWriter output, string outPath, IReadOnlyList<string> args)
    {
        var load = File.Exists("/proc/loadavg") ? File.ReadAllText("/proc/loadavg").Split(' ')[0] : "unknown";
        var rows = new List<LeaseRow>();
        foreach (var slots in slotCounts)
        {
            rows.Add(LeaseBenchmark.MeasureAsync(slots, workload, TimeSpan.FromMinutes(10), trainingThreads).GetAwaiter().GetResult());
            output.WriteLine(LeaseBenchmark.Format(rows[^1]));
        }
        var cores = Environment.ProcessorCount;
        var body = BenchmarkReport.Section("Device leases", args);
        body.AppendLine($"{workload.Describe()} (the same work per job, built and warmed by one step before the clock starts), run through a real " +
                        "`DeviceSlots` on the CPU device at each slot count, in a fresh actor system whose training dispatcher has as many threads " +
                        "as slots unless the row says otherwise (the pairing a run without a device list makes). The jobs are lightweight actors " +
                        "(`LeaseJob`) that do what a hospital does around training (request a lease, train on the training dispatcher while " +
                        "holding it, release it) and nothing else: a whole run's hospitals also build their learner and shard inside their first " +
                        "lease and all wait on the coordinator's aggregation between rounds, which would blur what leasing itself costs. " +
                        $"libtorch intra-op threads: {TorchSharp.torch.get_num_threads()} (the pool is process-wide; with one thread a slot is one " +
                        $"core's work). Load average when the benchmark started: {load}.");
        body.AppendLine();
        body.AppendLine("Utilisation = Σ lease-held seconds (the slot manager's own books) / (slots × wall); below 1 only at the start and in the " +
                        "last wave, when fewer jobs than slots are left. Idle gap = slot-seconds during which a slot could have been training a job " +
                        "waiting for one but was not, from the jobs' own request, grant and finish timestamps: ∫ max(0, min(slots, jobs waiting or " +
                        "training) − jobs training) dt. The manager grants a freed slot while handling its release, so by its own books that gap is " +
                        "zero by construction; what is measured is the whole hand-over: the release and grant messages and the granted job's " +
                        $"thread starting to train. Target: idle gap < {LeaseRow.IdleGapTarget * 100:F0} % of slots × wall.");
        body.AppendLine();
        body.AppendLine("The training dispatcher runs on `TrainingThreads`: dedicated threads taking from one shared queue, so each granted job's " +
                        "thread wakes at once. Akka's fork-join pool, used before, woke about one sleeping thread per core: at 4 slots on these 2 " +
                        "cores only 2 granted jobs started until one finished (idle gap 2.7 % of slot time, a miss), which on a GPU node with fewer " +
                        "cores than slots would leave leased GPUs idle.");
        body.AppendLine();
        body.AppendLine($"This machine has {cores} cores: with one intra-op thread per job, more slots than cores cannot raise throughput (the " +
                        "jobs share the cores and each lease is held longer), so jobs/s stays flat beyond that; the utilisation and idle-gap " +
                        "columns are the point there.");
        body.AppendLine();
        body.AppendTableHead("slots", "training threads", "jobs", "wall s", "jobs/s", "utilisation", "idle gap s", "target");
        foreach (var r in rows)
            body.AppendLine(string.Create(CultureInfo.InvariantCulture,
                $"| {r.Slots} | {r.TrainingThreads} | {r.Jobs.Count} | {r.WallSeconds:F2} | {r.JobsPerSecond:F2} | {r.Utilisation:F3} | {r.Timeline.IdleGapSeconds:F3} ({r.IdleGapShare * 100:F2} %) | {(r.MeetsTarget ? "meets" : "MISSES")} |"));
        // Every job asks at once, so with more slots than cores a first wave short of the slots means granted jobs were held up
        // by the dispatcher (below), not slow hand-overs.
        var heldUp = rows.Where(r => !r.MeetsTarget && r.Slots > cores && r.Timeline.FirstWave < Math.Min(r.Slots, r.Jobs.Count)).ToList();
        foreach (var r in heldUp)
        {
            body.AppendLine();
            body.AppendLine($"Why {r.Slots} slots miss: granted jobs were not all picked up; at the start only {r.Timeline.FirstWave} of {r.Slots} " +
                            $"slots trained until the first job finished, so granted jobs waited for a training thread ({r.TrainingThreads} here). " +
                            "What would fix it: at least as many training threads as slots.");
        }
        var slow = rows.Where(r => !r.MeetsTarget).Except(heldUp).ToList();
        if (slow.Count > 0)
        {
            body.AppendLine();
            body.AppendLine($"Why {string.Join(" and ", slow.Select(r => $"{r.Slots} slot{(r.Slots == 1 ? "" : "s")}"))} miss: every slot was taken at " +
                            "the start, so the gap is the hand-overs' latency (release, grant, the granted job's thread being scheduled), and the " +
                            $"machine was loaded (load average {load} on {cores} cores): woken threads waited for a core. What would fix it: " +
                            "measuring on a quiet machine.");
        }
        BenchmarkReport.WriteSection(outPath, "leases", body.ToString());
        output.WriteLine($"wrote {outPath}");
    }

    private static string? Option(IReadOnlyList<string> args, string name)
    {
        for (var i = 0; i < args.Count - 1; i++)
            if (args[i] == name) return args[i + 1];
        return null;
    }
}
