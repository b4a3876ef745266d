using System.Diagnostics;
using System.Globalization;
using Akka.Actor;
using Akka.Configuration;
using FedActors.Actors;
using FedActors.Actors.Devices;
using FedActors.Actors.Protocol;
using FedActors.Training.Benchmarks;

namespace FedActors.Host.Benchmarks;

/// <summary>The fixed workload every slot count runs: <paramref name="Jobs"/> jobs of the same training work each.</summary>
public sealed record LeaseWorkload(int Jobs, int StepsPerJob, int[] Widths, int BatchSize, int ImageSize)
{
    /// <summary>32 jobs of 3 SGD steps of the small CNN (32, 64, 128, 128), batch 32 of 32 px images.</summary>
    public static LeaseWorkload Standard { get; } = new(32, 3, [32, 64, 128, 128], 32, 32);

    public string Describe() => string.Create(CultureInfo.InvariantCulture,
        $"{Jobs} jobs, each {StepsPerJob} SGD steps of the small CNN ({string.Join(", ", Widths)}) on one fixed batch of {BatchSize} random {ImageSize} px images");
}

/// <summary>
/// What the jobs' own timestamps show. <paramref name="IdleGapSeconds"/>: slot-seconds during which a slot could have been
/// training a job that was waiting for one, but was not (∫ max(0, min(slots, jobs waiting or training) − jobs training) dt);
/// <paramref name="MaxTraining"/>: the most jobs training at once; <paramref name="FirstWave"/>: jobs that began training before
/// the first one finished (with every job asking at once, as many as there are slots unless granted jobs were held up).
/// </summary>
public sealed record LeaseTimeline(double IdleGapSeconds, int MaxTraining, int FirstWave)
{
    public static LeaseTimeline Of(IReadOnlyList<LeaseJobDone> jobs, int slots)
    {
        // Kinds at one instant in this order: a finish frees its slot before a grant at the same tick takes it.
        const int finish = 0, request = 1, grant = 2;
        var events = jobs.SelectMany(j => new[] { (At: j.FinishedAt, Kind: finish), (At: j.RequestedAt, Kind: request), (At: j.GrantedAt, Kind: grant) })
            .OrderBy(e => e.At).ThenBy(e => e.Kind).ToList();
        double idleTicks = 0;
        int wanting = 0, training = 0, maxTraining = 0;
        for (var i = 0; i < events.Count; i++)
        {
            if (i > 0) idleTicks += Math.Max(0, Math.Min(slots, wanting) - training) * (double)(events[i].At - events[i - 1].At);
            switch (events[i].Kind)
            {
                case request: wanting++; break;
                case grant: training++; maxTraining = Math.Max(maxTraining, training); break;
                default: wanting--; training--; break;
            }
        }
        var firstFinish = jobs.Count == 0 ? 0 : jobs.Min(j => j.FinishedAt);
        return new LeaseTimeline(idleTicks / Stopwatch.Frequency, maxTraining, jobs.Count(j => j.GrantedAt < firstFinish));
    }
}

/// <param name="TrainingThreads">Threads of the training dispatcher the jobs ran on.</param>
/// <param name="LeaseHeldSeconds">Σ lease-held seconds by the slot manager's own books.</param>
/// <param name="Grants">Leases the slot manager granted.</param>
public sealed record LeaseRow(int Slots, int TrainingThreads, double WallSeconds, double LeaseHeldSeconds, long Grants, IReadOnlyList<LeaseJobDone> Jobs)
{
    /// <summary>Issue target: the slots stand free while a job waits for less than this share of the slot time.</summary>
    public const double IdleGapTarget = 0.01;

    public double JobsPerSecond => Jobs.Count / WallSeconds;

    /// <summary>Σ lease-held seconds over slots × wall.</summary>
    public double Utilisation => LeaseHeldSeconds / (Slots * WallSeconds);

    public LeaseTimeline Timeline { get; } = LeaseTimeline.Of(Jobs, Slots);

    /// <summary>The idle gap as a share of the slot time, slots × wall.</summary>
    public double IdleGapShare => Timeline.IdleGapSeconds / (Slots * WallSeconds);

    public bool MeetsTarget => IdleGapShare < IdleGapTarget;
}

/// <summary>
/// The device-lease figure of issue 10: a fixed workload of <see cref="LeaseJob"/>s through a real <see cref="DeviceSlots"/>
/// on the CPU device, in a fresh actor system per slot count.
/// </summary>
public static class LeaseBenchmark
{
    /// <param name="trainingThreads">The training dispatcher's threads; 0: as many as slots, the pairing a run without a device list makes.</param>
    public static async Task<LeaseRow> MeasureAsync(int slots, LeaseWorkload workload, TimeSpan timeout, int trainingThreads = 0)
    {
        var threads = trainingThreads > 0 ? trainingThreads : slots;
        var config = ConfigurationFactory.ParseString($"""
            akka.loglevel = WARNING
            akka.stdout-loglevel = WARNING
            {Dispatchers.Hocon(threads)}
            """);
        var system = ActorSystem.Create("lease-bench", config);
        try
        {
            var deviceSlots = system.ActorOf(DeviceSlots.Props(new DeviceSlotsSettings { Devices = ["cpu"], SlotsPerDevice = slots }), "device-slots");
            var jobs = Enumerable.Range(0, workload.Jobs).Select(i => system.ActorOf(LeaseJob.Props($"job-{i}", deviceSlots,
                () => FixedTrainingWork.SmallCnn(workload.Widths, workload.BatchSize, workload.ImageSize), workload.StepsPerJob), $"job-{i}")).ToList();
            // Every job built and warmed before the clock starts.
            await Task.WhenAll(jobs.Select(j => j.Ask<ActorIdentity>(new Identify(null), timeout)));

            var start = Stopwatch.GetTimestamp();
            var done = await Task.WhenAll(jobs.Select(j => j.Ask<LeaseJobDone>(StartLeaseJob.Instance, timeout)));
            // Leases still held when the report is made count up to then, so the wall ends after it: utilisation ≤ 1.
            var usage = await deviceSlots.Ask<DeviceUtilisation>(GetDeviceUtilisation.Instance, timeout);
            var wall = Stopwatch.GetElapsedTime(start).TotalSeconds;
            return new LeaseRow(slots, threads, wall, usage.Devices.Sum(d => d.BusySeconds), usage.Grants, done);
        }
        finally { await system.Terminate(); }
    }

    public static string Format(LeaseRow r)
    {
        var verdict = r.MeetsTarget ? "meets" : "MISSES";
        return string.Create(CultureInfo.InvariantCulture,
            $"leases: {r.Slots} slot{(r.Slots == 1 ? "" : "s")} ({r.TrainingThreads} training thread{(r.TrainingThreads == 1 ? "" : "s")}), {r.Jobs.Count} jobs: {r.JobsPerSecond:F2} jobs/s, utilisation {r.Utilisation:F3}, " +
            $"idle gap {r.Timeline.IdleGapSeconds:F3} s = {r.IdleGapShare * 100:F2} % of slot time ({verdict} the no-idle-gap target, < {LeaseRow.IdleGapTarget * 100:F0} %)");
    }
}
