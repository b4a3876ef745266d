using System.Diagnostics;
using System.Globalization;
using FedActors.Actors.Devices;
using FedActors.Host.Commands;
using FedActors.Host.Configuration;
using FedActors.Training;
using FedActors.Training.Experiments;

namespace FedActors.Host.Benchmarks;

/// <summary>One site's measured local training: its samples and seconds.</summary>
/// <param name="HospitalId">The site.</param>
/// <param name="Samples">Its training samples.</param>
/// <param name="Seconds">Seconds its local round took, trained alone.</param>
public sealed record SiteTiming(string HospitalId, int Samples, double Seconds);

/// <summary>Makespans of one round on a number of slots, in arrival order and longest first, computed on recorded times.</summary>
/// <param name="Slots">Slots training at once.</param>
/// <param name="Worst">Makespan, first come first served, the sites arriving smallest first.</param>
/// <param name="MeanArrival">Makespan, first come first served, averaged over every arrival order.</param>
/// <param name="LongestFirst">Makespan, longest first (the same for every arrival order once the times are known).</param>
public sealed record ComputedMakespan(int Slots, double Worst, double MeanArrival, double LongestFirst)
{
    /// <summary>How many times shorter longest-first makes the round than the smallest-first arrival.</summary>
    public double WorstSpeedup => Worst / LongestFirst;

    /// <summary>How many times shorter longest-first makes the round than an arrival order drawn at random.</summary>
    public double MeanSpeedup => MeanArrival / LongestFirst;
}

/// <summary>
/// <c>fedactors bench placement</c>: six sites sized like FLamby ISIC-2019's centres, their local rounds timed one by
/// one, the makespan of a round computed from those times for 2, 4 and 8 slots; then whole runs on 2 slots, arrival
/// order against longest-first, interleaved (<see cref="InterleavedRounds"/>), the sites listed smallest first (the
/// arrival order that hurts most: the largest site starts last).
/// </summary>
public static class PlacementBenchmark
{
    /// <summary>FLamby ISIC-2019's centre sizes, smallest first.</summary>
    public static readonly double[] SiteSizes = [351, 655, 1807, 2691, 3163, 9930];

    /// <summary>The benchmark's experiment: supervised FedAvg on synthetic lesions over the six skewed sites, every site every round.</summary>
    /// <param name="runsDirectory">Where runs write.</param>
    /// <param name="rounds">Rounds per run.</param>
    /// <param name="imagesPerHospital">Mean training images per site (the sizes share 6 × this).</param>
    /// <param name="placement"><c>arrival</c> or <c>longest-first</c>.</param>
    public static List<string> Overrides(string runsDirectory, int rounds, int imagesPerHospital, string placement) =>
    [
        $"runs-dir=\"{runsDirectory}\"", "method=fedavg-supervised", "data.source=synthetic-skin", $"data.hospitals={SiteSizes.Length}",
        $"data.site-sizes=[{string.Join(",", SiteSizes.Select(s => s.ToString(CultureInfo.InvariantCulture)))}]",
        $"data.train-images-per-hospital={imagesPerHospital}", "data.test-images-per-hospital=4", "data.image-size=32", "data.classes=4",
        $"rounds.count={rounds}", "rounds.sample-fraction=1", $"rounds.min-participants={SiteSizes.Length}", "rounds.evaluate-every=0",
        "checkpoints.every=0", "devices.slots-per-device=2", "training-threads=2", "torch-threads=1", $"devices.placement={placement}",
    ];

    /// <summary>Each site's local round, trained alone, one after another (after one warm-up round of every site).</summary>
    /// <param name="config">The benchmark's experiment.</param>
    public static IReadOnlyList<SiteTiming> TimeSites(ExperimentConfig config) => TorchRuntime.OnPassingThread(() =>
    {
        TorchRuntime.ConfigureThreads(config.Host.TorchThreads);
        var experiment = new FederatedExperiment(config.Experiment);
        var method = config.Method.Create(experiment);
        var global = method.InitialGlobal();
        var timings = new List<SiteTiming>();
        foreach (var site in experiment.Sites.Sites.OrderBy(s => s.HospitalId, StringComparer.Ordinal))
        {
            using var learner = method.CreateClient(site.HospitalId);
            learner.LoadGlobal(global);
            learner.Train(site.Train); // warm-up: the first pass also builds and allocates
            learner.LoadGlobal(global);
            var clock = Stopwatch.StartNew();
            var trained = learner.Train(site.Train);
            timings.Add(new SiteTiming(site.HospitalId, trained.Samples, clock.Elapsed.TotalSeconds));
        }
        return (IReadOnlyList<SiteTiming>)timings;
    });

    /// <summary>The makespans on <paramref name="slots"/> computed from <paramref name="timings"/>: smallest first, every order on average, longest first.</summary>
    /// <param name="timings">The sites' recorded seconds.</param>
    /// <param name="slots">Slot counts.</param>
    public static IReadOnlyList<ComputedMakespan> Compute(IReadOnlyList<SiteTiming> timings, params int[] slots)
    {
        var seconds = timings.Select(t => t.Seconds).ToList();
        var ascending = seconds.Order().ToList();
        var orders = Permutations(seconds).ToList();
        return slots.Select(s => new ComputedMakespan(s, Placement.Makespan(PlacementOrder.Arrival, ascending, s),
            orders.Average(o => Placement.Makespan(PlacementOrder.Arrival, o, s)), Placement.Makespan(PlacementOrder.LongestFirst, seconds, s))).ToList();
    }

    /// <summary>Every order of <paramref name="items"/> (n! of them: for a handful of sites).</summary>
    /// <param name="items">What to order.</param>
    public static IEnumerable<IReadOnlyList<double>> Permutations(IReadOnlyList<double> items)
    {
        if (items.Count > 9) throw new ArgumentOutOfRangeException(nameof(items), items.Count, "too many to enumerate every order");
        if (items.Count <= 1) { yield return items.ToList(); yield break; }
        for (var i = 0; i < items.Count; i++)
        {
            var rest = items.Where((_, j) => j != i).ToList();
            foreach (var tail in Permutations(rest)) yield return [items[i], .. tail];
        }
    }

    /// <summary>Whole runs on 2 slots, arrival order against longest-first (the baseline), interleaved.</summary>
    /// <param name="runsDirectory">Where runs write.</param>
    /// <param name="rounds">Rounds per run (at least 3).</param>
    /// <param name="imagesPerHospital">Mean training images per site.</param>
    /// <param name="limits">How many blocks, how narrow, how long.</param>
    /// <param name="progress">Told of each block; may be null.</param>
    public static InterleavedComparison Measure(string runsDirectory, int rounds, int imagesPerHospital, InterleavingLimits limits, Action<string>? progress = null)
    {
        if (rounds < 3) throw new ArgumentOutOfRangeException(nameof(rounds), rounds, "at least 3 rounds: the first and the last are not steady state");
        TimedRounds Run(string placement)
        {
            var result = RunCommand.ExecuteAsync(ExperimentConfig.Load(null, Overrides(runsDirectory, rounds, imagesPerHospital, placement)), TextWriter.Null)
                .GetAwaiter().GetResult();
            return new TimedRounds(result.Completed.Rounds.Select(r => r.WallSeconds).ToList(), result.Completed.FinalGlobal.ContentHash);
        }
        var clock = Stopwatch.StartNew();
        // Longest-first is the baseline so that the ratio (arrival over longest-first) is how many times shorter it makes a round.
        return InterleavedRounds.Compare(("longest-first", () => Run("longest-first")), [("arrival", () => Run("arrival"))], limits, () => clock.Elapsed, progress);
    }
}
