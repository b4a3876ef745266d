using FedActors.Testing;
using Akka.Actor;
using FedActors.Actors.Coordination;
using FedActors.Actors.Rounds;
using FedActors.Actors.Faults;
using FedActors.Actors.Hospitals;
using FedActors.Actors.Protocol;
using FedActors.Actors.Simulation;
using FedActors.Training.Weights;
using Xunit.Abstractions;

namespace FedActors.Tests.Actors;

/// <summary>Fault plans, heterogeneity, availability and round policies, on many cheap hospitals.</summary>
public class FaultInjectionSpecs(ITestOutputHelper output) : ActorSpec(2, output)
{
    private static readonly TimeSpan Timeout = TimeSpan.FromMinutes(2);

    /// <summary>Every selected hospital has one selected line and exactly one outcome line per round.</summary>
    private static readonly string[] Outcomes =
        [RunEventKinds.Accepted, RunEventKinds.Dropped, RunEventKinds.Lost, RunEventKinds.Late, RunEventKinds.Rejected, RunEventKinds.Surplus];

    private sealed record Run(RunCompleted Completed, RunLog Log, List<LocalUpdate> Uploads, List<TappedRequest> Requests);

    private Run RunDrift(CoordinatorSettings settings, int hospitals)
    {
        var observer = CreateTestProbe();
        var refs = DriftLearner.Hospitals(hospitals).ToDictionary(
            h => h.HospitalId,
            h => Sys.ActorOf(UploadTap.Props(Sys.ActorOf(HospitalActor.Props(h, Transfer)), Transfer, observer, requestsToo: true)));
        var handle = RunLog.Start(Sys, TestActor);
        var coordinator = Sys.ActorOf(RoundCoordinator.Props(settings, refs, DriftLearner.InitialGlobal(), Transfer));
        coordinator.Tell(new SubscribeToRun(handle.Ref));
        coordinator.Tell(StartRun.Instance, ActorRefs.NoSender); // RunCompleted comes through the log, after every event
        var completed = ExpectMsg<RunCompleted>(Timeout);
        var seen = observer.ReceiveWhile<object>(TimeSpan.FromMilliseconds(300), m => m);
        return new Run(completed, handle, seen.OfType<LocalUpdate>().ToList(), seen.OfType<TappedRequest>().ToList());
    }

    /// <summary>The global each round produced: what the next round was sent, and the run's final global for the last.</summary>
    private static ModelWeights GlobalAfter(Run run, int round) =>
        round == run.Completed.Rounds.Count ? run.Completed.FinalGlobal : run.Requests.First(r => r.Round == round + 1).Global;

    private static void AssertWeightedMeanOf(ModelWeights global, IReadOnlyList<LocalUpdate> updates, string what)
    {
        var total = updates.Sum(u => (double)u.Samples);
        foreach (var tensor in global.Tensors)
            for (var k = 0; k < tensor.Values.Length; k++)
            {
                var expected = updates.Sum(u => u.Samples / total * u.Weights[tensor.Name].Values[k]);
                Assert.True(Math.Abs(expected - tensor.Values[k]) <= 1e-6, $"{what}: {tensor.Name}[{k}] is {tensor.Values[k]}, weighted mean {expected}");
            }
    }

    private static void AssertEveryHospitalAccountedFor(Run run)
    {
        foreach (var round in run.Completed.Rounds)
        {
            var selected = run.Log.Of(RunEventKinds.Selected, round.Round).Select(e => e.HospitalId!).OrderBy(x => x, StringComparer.Ordinal).ToList();
            Assert.Equal(round.Selected, selected);
            foreach (var id in selected)
            {
                var outcomes = run.Log.Events.Where(e => e.Round == round.Round && e.HospitalId == id && Outcomes.Contains(e.Kind)).ToList();
                Assert.True(outcomes.Count == 1, $"round {round.Round}, {id}: {outcomes.Count} outcome lines [{string.Join("; ", outcomes)}]");
                Assert.Equal(outcomes[0].Kind == RunEventKinds.Accepted, round.Aggregated.Contains(id) || (round.Skipped && round.Accepted.Contains(id)));
                // The summary puts it in the list of the outcome its event names, and in no other: events and metrics agree.
                var lists = new[] { (RunEventKinds.Accepted, round.Accepted), (RunEventKinds.Dropped, round.Dropped), (RunEventKinds.Lost, round.Lost),
                    (RunEventKinds.Late, round.Late), (RunEventKinds.Rejected, round.Rejected), (RunEventKinds.Surplus, round.Surplus) };
                Assert.Equal([outcomes[0].Kind], lists.Where(l => l.Item2.Contains(id)).Select(l => l.Item1));
            }
        }
    }

    [Fact]
    public void Should_close_every_round_of_100_hospitals_with_30_percent_dropout_at_the_mean_of_exactly_the_accepted_updates()
    {
        var settings = new CoordinatorSettings
        {
            Rounds = 10, MinParticipants = 1, Seed = 11, RoundTimeout = TimeSpan.FromMinutes(1),
            Faults = new FaultPlan { Dropout = new RandomDropout(0.3, [DropoutStage.BeforeTraining, DropoutStage.DuringTraining, DropoutStage.AfterUpload]) },
        };
        var run = RunDrift(settings, 100);

        Assert.Equal(10, run.Completed.Rounds.Count);
        Assert.All(run.Completed.Rounds, r => Assert.False(r.Skipped));
        foreach (var round in run.Completed.Rounds)
        {
            var accepted = run.Uploads.Where(u => u.Round == round.Round && round.Aggregated.Contains(u.HospitalId)).ToList();
            Assert.Equal(round.Aggregated.Count, accepted.Count);
            AssertWeightedMeanOf(GlobalAfter(run, round.Round), accepted, $"round {round.Round}");
            Assert.Equal(100, round.Selected.Count);
            Assert.Equal(round.Selected.Except(round.Aggregated).OrderBy(x => x, StringComparer.Ordinal), round.NotAggregated);
            Assert.Equal(round.NotAggregated, round.Dropped.Concat(round.Lost).OrderBy(x => x, StringComparer.Ordinal)); // no deadline: nothing late
        }
        AssertEveryHospitalAccountedFor(run);

        var failed = run.Completed.Rounds.Sum(r => r.Dropped.Count + r.Lost.Count);
        Assert.InRange(failed / 1000.0, 0.24, 0.36);
        // All three stages fired; an upload lost after sending was still sent (the tap saw it) but is not in the aggregate.
        var reasons = run.Log.Events.Where(e => e.Kind is RunEventKinds.Dropped or RunEventKinds.Lost).Select(e => e.Reason).ToList();
        Assert.Contains(reasons, r => r.Contains("before training"));
        Assert.Contains(reasons, r => r.Contains("during training"));
        var lostAfterUpload = run.Log.Of(RunEventKinds.Lost).ToList();
        Assert.NotEmpty(lostAfterUpload);
        Assert.All(lostAfterUpload, e => Assert.Contains(run.Uploads, u => u.Round == e.Round && u.HospitalId == e.HospitalId));
        // A hospital dropped before or during training never trained that round.
        foreach (var e in run.Log.Of(RunEventKinds.Dropped))
            Assert.DoesNotContain(run.Uploads, u => u.Round == e.Round && u.HospitalId == e.HospitalId);
    }

    [Fact]
    public void Should_drop_a_scripted_hospital_and_lose_or_delay_messages_as_planned()
    {
        var settings = new CoordinatorSettings
        {
            Rounds = 2, MinParticipants = 1, Seed = 3, DeadlineSeconds = 100,
            Heterogeneity = new Heterogeneity { SecondsPerStep = 1 },
            Faults = new FaultPlan
            {
                Drops = [new ScriptedDrop("hospital-002", 2, DropoutStage.DuringTraining)],
                Messages =
                [
                    new MessageFault(RoundMessage.Request, Lose: true, Probability: 0.2),
                    new MessageFault(RoundMessage.Upload, Lose: true, Probability: 0.2),
                    new MessageFault(RoundMessage.Upload, Lose: false, Probability: 0.3, DelaySeconds: 500),
                ],
            },
        };
        var run = RunDrift(settings, 20);

        var drop = Assert.Single(run.Log.Events, e => e.HospitalId == "hospital-002" && e.Round == 2 && Outcomes.Contains(e.Kind));
        Assert.Equal(RunEventKinds.Dropped, drop.Kind);
        Assert.Contains("scripted drop during training", drop.Reason);
        Assert.Contains(run.Log.Events, e => e.Kind == RunEventKinds.Lost && e.Reason.StartsWith("request lost"));
        Assert.Contains(run.Log.Events, e => e.Kind == RunEventKinds.Lost && e.Reason.StartsWith("upload lost"));
        // A lost request never reaches the hospital; a delayed upload misses the 100 s deadline.
        foreach (var e in run.Log.Events.Where(e => e.Reason.StartsWith("request lost")))
            Assert.DoesNotContain(run.Uploads, u => u.Round == e.Round && u.HospitalId == e.HospitalId);
        var delayed = run.Log.Of(RunEventKinds.Delayed).Select(e => (e.Round, e.HospitalId)).ToHashSet();
        Assert.NotEmpty(delayed);
        foreach (var (round, id) in delayed)
            Assert.Contains(run.Log.Events, e => e.Round == round && e.HospitalId == id && e.Kind is RunEventKinds.Late or RunEventKinds.Lost);
        AssertEveryHospitalAccountedFor(run);
    }

    [Fact]
    public void Should_make_a_slowed_hospital_miss_the_deadline_from_its_round_on()
    {
        // 16 samples = 2 steps of 10 s: 20 s of compute, 60 s when three times slower; the deadline is 40 s.
        var settings = new CoordinatorSettings
        {
            Rounds = 3, MinParticipants = 1, Seed = 3, DeadlineSeconds = 40,
            Heterogeneity = new Heterogeneity { SecondsPerStep = 10, BandwidthMbps = ValueDistribution.Constant(1000) },
            Faults = new FaultPlan { Slowdowns = [new ScriptedSlowdown("hospital-008", 2, 3)] },
        };
        var run = RunDrift(settings, 10);

        Assert.Contains("hospital-008", run.Completed.Rounds[0].Aggregated);
        foreach (var round in run.Completed.Rounds.Skip(1))
        {
            Assert.DoesNotContain("hospital-008", round.Aggregated);
            var late = Assert.Single(run.Log.Of(RunEventKinds.Late, round.Round));
            Assert.Equal("hospital-008", late.HospitalId);
            Assert.Contains("after the deadline", late.Reason);
            Assert.Single(run.Log.Of(RunEventKinds.Slowed, round.Round));
            Assert.Equal(40, round.SimulatedSeconds, 6); // the server waited for its deadline
        }
        // Round 1: everyone on time, so the round lasts as long as its slowest hospital (2 steps of 10 s + transfers).
        Assert.InRange(run.Completed.Rounds[0].SimulatedSeconds, 20, 21);
    }

    [Fact]
    public void Should_keep_the_first_k_to_finish_on_the_simulated_clock_when_over_selecting()
    {
        // 10 hospitals wanted half: 5, over-selected by 60 % → 8 asked; hospital i is (i + 1) times slower.
        var speeds = Enumerable.Range(0, 10).Select(i => new HospitalSystemOverride($"hospital-{i:D3}", i + 1, null)).ToList();
        var settings = new CoordinatorSettings
        {
            Rounds = 2, SampleFraction = 0.5, OverSelection = 0.6, MinParticipants = 1, Seed = 5,
            Heterogeneity = new Heterogeneity { SecondsPerStep = 1, Hospitals = speeds },
        };
        var run = RunDrift(settings, 10);

        foreach (var round in run.Completed.Rounds)
        {
            Assert.Equal(8, round.Selected.Count);
            Assert.Equal(5, round.Aggregated.Count);
            // Hospital i computes 1 step × (i + 1) s: the five fastest selected are the five lowest indices.
            Assert.Equal(round.Selected.Take(5), round.Aggregated);
            Assert.Equal(round.Selected.Skip(5), run.Log.Of(RunEventKinds.Surplus, round.Round).Select(e => e.HospitalId!).OrderBy(x => x, StringComparer.Ordinal));
            var accepted = run.Uploads.Where(u => u.Round == round.Round && round.Aggregated.Contains(u.HospitalId)).ToList();
            AssertWeightedMeanOf(GlobalAfter(run, round.Round), accepted, $"round {round.Round}");
        }
        AssertEveryHospitalAccountedFor(run);
    }

    [Fact]
    public void Should_skip_a_round_with_too_few_updates_and_keep_the_global()
    {
        // Fraction minimum: 60 % of the 5 wanted = 3; four of them drop in round 1.
        var settings = new CoordinatorSettings
        {
            Rounds = 2, MinParticipants = 1, MinParticipantsFraction = 0.6, Seed = 5, OnTooFew = TooFewPolicy.Skip,
            Faults = new FaultPlan { Drops = Enumerable.Range(0, 4).Select(i => new ScriptedDrop($"hospital-{i:D3}", 1, DropoutStage.BeforeTraining)).ToList() },
        };
        var run = RunDrift(settings, 5);

        var first = run.Completed.Rounds[0];
        Assert.True(first.Skipped);
        Assert.Empty(first.Aggregated);
        Assert.Equal(DriftLearner.InitialGlobal().ContentHash, first.GlobalHash);
        Assert.Contains("1 of the 3 updates required", Assert.Single(run.Log.Of(RunEventKinds.RoundSkipped)).Reason);
        Assert.False(run.Completed.Rounds[1].Skipped);
        Assert.Equal(DriftLearner.InitialGlobal().ContentHash, GlobalAfter(run, 1).ContentHash);
    }

    [Fact]
    public void Should_retry_with_new_participants_until_the_minimum_is_met()
    {
        // 10 hospitals, 4 wanted and required; the scripted drops leave 1 of the first 4, so a retry asks 3 more.
        var settings = new CoordinatorSettings
        {
            Rounds = 1, SampleFraction = 0.4, MinParticipants = 4, Seed = 9, OnTooFew = TooFewPolicy.Retry, MaxRetries = 2,
            DeadlineSeconds = 30, Heterogeneity = new Heterogeneity { SecondsPerStep = 1 },
        };
        var firstPick = ClientSelection.SampleOf(Enumerable.Range(0, 10).Select(i => $"hospital-{i:D3}"), 4, ClientSelection.RandomFor(9, 1, 1));
        settings = settings with { Faults = new FaultPlan { Drops = firstPick.Take(3).Select(id => new ScriptedDrop(id, 1, DropoutStage.BeforeTraining)).ToList() } };
        var run = RunDrift(settings, 10);

        var round = Assert.Single(run.Completed.Rounds);
        Assert.False(round.Skipped);
        Assert.Equal(2, round.Attempts);
        Assert.Equal(7, round.Selected.Count);
        Assert.Equal(4, round.Aggregated.Count);
        Assert.Contains(firstPick[3], round.Aggregated);
        var retry = Assert.Single(run.Log.Of(RunEventKinds.Retry));
        Assert.Contains("1 of the 4 updates required", retry.Reason);
        Assert.Equal(30, retry.SimulatedSeconds, 6); // the first attempt waited for its deadline
        Assert.All(run.Log.Of(RunEventKinds.Selected).Where(e => !firstPick.Contains(e.HospitalId!)), e => Assert.Equal(2, e.Attempt));
        AssertWeightedMeanOf(run.Completed.FinalGlobal, run.Uploads.Where(u => round.Aggregated.Contains(u.HospitalId)).ToList(), "retried round");
        AssertEveryHospitalAccountedFor(run);
    }

    [Fact]
    public void Should_never_select_a_hospital_while_its_trace_says_it_is_off()
    {
        // Rounds last 10 s (1 step of 10 s, fast links). hospital-001 is off from 25 s to 65 s;
        // hospital-002 is on only until 32 s, so it goes offline during the round that starts at 30 s.
        var trace = new AvailabilityTrace(new Dictionary<string, IReadOnlyList<OnInterval>>
        {
            ["hospital-001"] = [new OnInterval(0, 25), new OnInterval(65, 1e9)],
            ["hospital-002"] = [new OnInterval(0, 32)],
        });
        var settings = new CoordinatorSettings
        {
            Rounds = 9, MinParticipants = 1, Seed = 1, Availability = trace,
            Heterogeneity = new Heterogeneity { SecondsPerStep = 10, BandwidthMbps = ValueDistribution.Constant(1e6) },
        };
        var run = RunDrift(settings, 4);

        var start = 0.0;
        foreach (var round in run.Completed.Rounds)
        {
            Assert.Equal(trace.IsOn("hospital-001", start), round.Selected.Contains("hospital-001"));
            Assert.Equal(start < 32, round.Selected.Contains("hospital-002"));
            start = round.SimulatedClock;
        }
        Assert.Contains(run.Completed.Rounds, r => !r.Selected.Contains("hospital-001"));
        Assert.Contains(run.Completed.Rounds, r => r.Round > 3 && r.Selected.Contains("hospital-001"));
        var offline = Assert.Single(run.Log.Events, e => e.HospitalId == "hospital-002" && e.Kind == RunEventKinds.Dropped);
        Assert.Contains("went offline at 32.0 s", offline.Reason);
        AssertEveryHospitalAccountedFor(run);
    }

    [Fact]
    public void Should_publish_live_round_progress_as_hospitals_settle()
    {
        var listener = CreateTestProbe();
        var hospitals = DriftLearner.Hospitals(3).ToDictionary(h => h.HospitalId, h => Sys.ActorOf(HospitalActor.Props(h, Transfer)));
        var settings = new CoordinatorSettings
        {
            Rounds = 1, MinParticipants = 2, Seed = 7,
            Faults = new FaultPlan { Drops = [new ScriptedDrop("hospital-001", 1, DropoutStage.BeforeTraining)] },
        };
        var coordinator = Sys.ActorOf(RoundCoordinator.Props(settings, hospitals, DriftLearner.InitialGlobal(), Transfer));
        coordinator.Tell(new SubscribeToRun(listener));
        coordinator.Tell(StartRun.Instance, ActorRefs.NoSender);

        var progress = listener.ReceiveWhile<RoundProgress>(Timeout, m => (m as RoundProgress)!, msgs: 100).ToList();
        listener.FishForMessage<RoundClosed>(_ => true, Timeout);

        Assert.NotEmpty(progress);
        Assert.All(progress, p => Assert.Equal((1, 3), (p.Round, p.Selected)));
        Assert.Contains(progress, p => p.Training == 2); // both survivors asked, none answered yet
        Assert.Equal(new RoundProgress(1, 1, 3, 0, 2, 1), progress[^1]);
    }
}
