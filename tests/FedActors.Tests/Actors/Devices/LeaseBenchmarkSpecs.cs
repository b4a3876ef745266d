using System.Diagnostics;
using FedActors.Actors.Protocol;
using FedActors.Host.Benchmarks;

namespace FedActors.Tests.Actors.Devices;

/// <summary>The lease benchmark's machinery, run small: what it counts, never how fast anything is.</summary>
public class LeaseBenchmarkSpecs
{
    private static readonly LeaseWorkload Tiny = new(Jobs: 5, StepsPerJob: 1, Widths: [8, 8, 16, 16], BatchSize: 2, ImageSize: 8);

    // A job's timestamps given in seconds.
    private static LeaseJobDone Job(string id, double requested, double granted, double finished) =>
        new(id, "cpu", Ticks(requested), Ticks(granted), Ticks(finished));

    private static long Ticks(double seconds) => (long)Math.Round(seconds * Stopwatch.Frequency);

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    public async Task Should_run_every_job_exactly_once_on_at_most_as_many_slots_as_there_are(int slots)
    {
        var row = await LeaseBenchmark.MeasureAsync(slots, Tiny, TimeSpan.FromMinutes(2));

        Assert.Equal(Enumerable.Range(0, Tiny.Jobs).Select(i => $"job-{i}").Order(), row.Jobs.Select(j => j.JobId).Order());
        Assert.Equal(Tiny.Jobs, row.Grants);
        Assert.All(row.Jobs, j =>
        {
            Assert.Equal("cpu", j.Device);
            Assert.True(j.RequestedAt <= j.GrantedAt && j.GrantedAt <= j.FinishedAt, $"{j.JobId}: request, grant and finish out of order");
        });
        Assert.InRange(row.Timeline.MaxTraining, 1, slots);
        Assert.InRange(row.Timeline.FirstWave, 1, slots);
        Assert.InRange(row.Utilisation, double.Epsilon, 1);
        Assert.True(row.Timeline.IdleGapSeconds >= 0);
    }

    [Fact]
    public void Should_count_no_idle_gap_when_the_next_job_starts_as_the_last_finishes()
    {
        var timeline = LeaseTimeline.Of([Job("a", 0, 0, 2), Job("b", 0, 2, 4)], slots: 1);

        Assert.Equal(0, timeline.IdleGapSeconds, precision: 9);
        Assert.Equal(1, timeline.MaxTraining);
    }

    [Fact]
    public void Should_count_a_slot_standing_free_only_while_a_job_waits_for_it()
    {
        // One slot. a trains 0–2 s; b asks at 0.5 s, starts at 2.5 s: the slot stands free 2–2.5 s while b waits.
        // c asks only at 5 s, long after b finished at 4 s: 4–5 s is free with nobody waiting, no gap.
        var jobs = new[] { Job("a", 0, 0, 2), Job("b", 0.5, 2.5, 4), Job("c", 5, 5.25, 6) };

        var oneSlot = LeaseTimeline.Of(jobs, slots: 1);
        Assert.Equal(0.5 + 0.25, oneSlot.IdleGapSeconds, precision: 9);
        Assert.Equal(1, oneSlot.MaxTraining);
        Assert.Equal(1, oneSlot.FirstWave);

        // Two slots: b could have had the second slot from 0.5 s, so its whole wait (2 s) is a gap; c's 0.25 s too.
        var twoSlots = LeaseTimeline.Of(jobs, slots: 2);
        Assert.Equal(2 + 0.25, twoSlots.IdleGapSeconds, precision: 9);
    }

    [Fact]
    public void Should_count_jobs_training_together_and_not_one_that_finishes_as_the_next_starts()
    {
        var timeline = LeaseTimeline.Of([Job("a", 0, 0, 3), Job("b", 0, 1, 2), Job("c", 0, 2, 3)], slots: 2);

        Assert.Equal(2, timeline.MaxTraining); // b's finish and c's start at 2 s do not overlap
        Assert.Equal(2, timeline.FirstWave); // a and b began before b finished; c only as it did
        Assert.Equal(1, timeline.IdleGapSeconds, precision: 9); // a second slot free 0–1 s with b and c waiting
    }
}
