using CsCheck;
using FedActors.Actors.Coordination;
using FedActors.Actors.Faults;
using FedActors.Actors.Protocol;
using FedActors.Actors.Rounds;
using FedActors.Actors.Simulation;
using FedActors.Training.Methods;
using FedActors.Training.Weights;

namespace FedActors.Tests.Actors.Rounds;

/// <summary>
/// The round engine alone, no actor system: its rules as plain unit specs and, for any fault plan and seed, the
/// properties every run must keep (<see cref="SeededProperty"/> draws the same cases on every run).
/// </summary>
public sealed class RoundEngineSpecs
{
    private static readonly string[] OutcomeKinds =
        [RunEventKinds.Accepted, RunEventKinds.Dropped, RunEventKinds.Lost, RunEventKinds.Late, RunEventKinds.Rejected, RunEventKinds.Surplus];

    private static IEnumerable<(string Kind, IReadOnlyList<string> Ids)> Outcomes(RoundSummary s) =>
    [
        (RunEventKinds.Accepted, s.Accepted), (RunEventKinds.Dropped, s.Dropped), (RunEventKinds.Lost, s.Lost),
        (RunEventKinds.Late, s.Late), (RunEventKinds.Rejected, s.Rejected), (RunEventKinds.Surplus, s.Surplus),
    ];

    /// <summary>A run's settings and world: any policy, any fault plan, any seed.</summary>
    private sealed record Case(CoordinatorSettings Settings, int Hospitals, ulong OrderSeed, string[] Silent, string[] Corrupt)
    {
        public override string ToString() =>
            $"{Hospitals} hospitals, seed {Settings.Seed}, order {OrderSeed}, fraction {Settings.SampleFraction}, min {Settings.MinParticipants}, " +
            $"over {Settings.OverSelection}, deadline {Settings.DeadlineSeconds}, {Settings.OnTooFew} ×{Settings.MaxRetries}, " +
            $"dropout {Settings.Faults.Dropout?.Probability}, drops {Settings.Faults.Drops.Count}, slow {Settings.Faults.Slowdowns.Count}, " +
            $"messages {Settings.Faults.Messages.Count}, corruptions {Settings.Faults.Corruptions.Count}, crashes [{string.Join(',', Settings.Faults.CoordinatorCrashes.Select(c => c.Round))}], " +
            $"silent [{string.Join(',', Silent)}], corrupt [{string.Join(',', Corrupt)}]";
    }

    private static string Hospital(int i) => $"hospital-{i:D2}";

    private static readonly Gen<DropoutStage> Stage = Gen.Enum<DropoutStage>();

    private static readonly Gen<Case> Cases =
        from hospitals in Gen.Int[1, 12]
        from rounds in Gen.Int[1, 5]
        from seed in Gen.ULong
        from orderSeed in Gen.ULong
        from fraction in Gen.Int[1, 10].Select(i => i / 10.0)
        from min in Gen.Int[1, 4]
        from minFraction in Gen.Int[0, 4].Select(i => i / 4.0)
        from over in Gen.Int[0, 3].Select(i => i / 2.0)
        from deadline in Gen.OneOf(Gen.Const(double.PositiveInfinity), Gen.Int[1, 30].Select(i => (double)i))
        from retry in Gen.Bool
        from retries in Gen.Int[0, 3]
        from dropout in Gen.Int[0, 5].Select(i => i / 10.0)
        from stages in Stage.HashSet[1, 3]
        from drops in Gen.Select(Gen.Int[1, 12], Gen.Int[1, 5], Stage).Array[0, 4]
        from slows in Gen.Select(Gen.Int[1, 12], Gen.Int[1, 5], Gen.Int[2, 8]).Array[0, 3]
        from messages in Gen.Select(Gen.Bool, Gen.Bool, Gen.Int[0, 4]).Array[0, 2]
        from crashes in Gen.Int[1, 5].HashSet[0, 2]
        from speeds in Gen.Int[1, 4]
        from silent in Gen.Int[1, 12].HashSet[0, 2]
        from corrupt in Gen.Int[1, 12].HashSet[0, 2]
        from spoilt in Gen.Select(Gen.Int[1, 12], Gen.Int[1, 5], Gen.Enum<Corruption>()).Array[0, 2]
        select new Case(new CoordinatorSettings
        {
            Rounds = rounds, Seed = seed, SampleFraction = fraction, MinParticipants = min, MinParticipantsFraction = minFraction,
            OverSelection = over, DeadlineSeconds = deadline, OnTooFew = retry ? TooFewPolicy.Retry : TooFewPolicy.Skip, MaxRetries = retries,
            Heterogeneity = new Heterogeneity { SecondsPerStep = 0.5, SpeedFactor = ValueDistribution.Uniform(1, speeds) },
            Faults = new FaultPlan
            {
                Dropout = dropout > 0 ? new RandomDropout(dropout, stages.ToList()) : null,
                Drops = drops.Select(d => new ScriptedDrop(Hospital(d.Item1), d.Item2, d.Item3)).DistinctBy(d => (d.HospitalId, d.Round)).ToList(),
                Slowdowns = slows.Select(s => new ScriptedSlowdown(Hospital(s.Item1), s.Item2, s.Item3)).ToList(),
                Messages = messages.Select(m => new MessageFault(m.Item1 ? RoundMessage.Request : RoundMessage.Upload, m.Item2, m.Item3 / 4.0, m.Item2 ? 0 : 3)).ToList(),
                CoordinatorCrashes = crashes.Select(r => new ScriptedCoordinatorCrash(r)).ToList(),
                Corruptions = spoilt.Select(x => new ScriptedCorruption(Hospital(x.Item1), x.Item2, x.Item3)).DistinctBy(x => (x.HospitalId, x.Round)).ToList(),
            },
        }, hospitals, orderSeed, silent.Select(Hospital).ToArray(), corrupt.Select(Hospital).ToArray());

    /// <summary>Round <paramref name="round"/>'s events as its last coordinator incarnation published them (a crash reruns the round).</summary>
    private static List<RunEvent> EventsOf(EngineHarness run, int round)
    {
        var all = run.Events.Where(e => e.Round == round).ToList();
        return all.Skip(all.FindLastIndex(e => e.Kind == RunEventKinds.CoordinatorRecovered) + 1).ToList();
    }

    private static EngineHarness Run(Case c, ulong? orderSeed = null) =>
        new EngineHarness(c.Settings, c.Hospitals, orderSeed ?? c.OrderSeed, c.Silent.ToHashSet(), c.Corrupt.ToHashSet()).Run();

    [Fact]
    public void Should_end_every_selected_hospital_in_exactly_one_outcome_with_its_event_for_any_fault_plan_and_seed()
    {
        SeededProperty.ForAll(Cases, c =>
        {
            var run = Run(c);
            Assert.Equal(c.Settings.Rounds, run.Completed!.Rounds.Count);
            foreach (var s in run.Completed.Rounds)
            {
                var placed = Outcomes(s).SelectMany(o => o.Ids).OrderBy(id => id, StringComparer.Ordinal).ToList();
                Assert.Equal(s.Selected, placed); // each selected hospital in exactly one list
                foreach (var (kind, ids) in Outcomes(s))
                foreach (var id in ids)
                {
                    var events = EventsOf(run, s.Round).Where(e => e.HospitalId == id && OutcomeKinds.Contains(e.Kind)).ToList();
                    var only = Assert.Single(events);
                    Assert.Equal(kind, only.Kind);
                }
                Assert.Equal(s.StaleReplies, EventsOf(run, s.Round).Count(e => e.Kind == RunEventKinds.Stale));
                Assert.Equal(s.UnexpectedReplies, EventsOf(run, s.Round).Count(e => e.Kind == RunEventKinds.Unexpected));
                Assert.Equal(s.DuplicateReplies, EventsOf(run, s.Round).Count(e => e.Kind == RunEventKinds.Duplicate));
                // Rejected only what the world corrupted or the fault plan spoilt in this round, and each spoilt upload with its event.
                Assert.All(s.Rejected, id => Assert.True(c.Corrupt.Contains(id) ||
                    c.Settings.Faults.Corruptions.Any(x => x.HospitalId == id && x.Round == s.Round), $"{id} rejected in round {s.Round}"));
                foreach (var e in EventsOf(run, s.Round).Where(e => e.Kind == RunEventKinds.Corrupted))
                    Assert.Contains(e.HospitalId, s.Rejected);
                Assert.All(s.Accepted, id => Assert.DoesNotContain(id, c.Silent));
            }
        }, print: c => c.ToString());
    }

    [Fact]
    public void Should_close_retry_or_skip_every_round_as_the_policy_says_for_any_fault_plan_and_seed()
    {
        SeededProperty.ForAll(Cases, c =>
        {
            var run = Run(c);
            var rules = c.Settings.Rules;
            var required = rules.RequiredUpdates(rules.Wanted(c.Hospitals));
            foreach (var s in run.Completed!.Rounds)
            {
                Assert.Equal(!s.Skipped, s.Accepted.Count >= required);
                Assert.Equal(s.Skipped ? [] : s.Accepted, s.Aggregated);
                var events = EventsOf(run, s.Round);
                var retries = events.Count(e => e.Kind == RunEventKinds.Retry);
                Assert.Equal(s.Attempts - 1, retries);
                if (rules.OnTooFew == TooFewPolicy.Skip) Assert.Equal(1, s.Attempts);
                else Assert.InRange(s.Attempts, 1, 1 + rules.MaxRetries);
                // A retried round only selects hospitals not yet asked: nobody twice.
                Assert.Equal(s.Selected.Count, events.Count(e => e.Kind == RunEventKinds.Selected));
                // A skip retried all it could: with retries left, nobody untried was available.
                if (s.Skipped && rules.OnTooFew == TooFewPolicy.Retry && s.Attempts <= rules.MaxRetries)
                    Assert.Equal(c.Hospitals, s.Selected.Count);
                Assert.Single(events, e => e.Kind == (s.Skipped ? RunEventKinds.RoundSkipped : RunEventKinds.RoundClosed));
            }
        }, print: c => c.ToString());
    }

    [Fact]
    public void Should_aggregate_with_weights_that_sum_to_one_into_the_weighted_mean_of_exactly_the_accepted_updates()
    {
        SeededProperty.ForAll(Cases, c =>
        {
            var run = Run(c);
            var global = EngineHarness.InitialGlobal;
            foreach (var (s, after) in run.Closed.DistinctBy(x => x.Summary.Round).OrderBy(x => x.Summary.Round))
            {
                if (s.Skipped)
                {
                    Assert.Empty(s.AggregationWeights);
                    Assert.Equal(global.ContentHash, after.ContentHash);
                    continue;
                }
                Assert.Equal(s.Aggregated, s.AggregationWeights.Keys.OrderBy(id => id, StringComparer.Ordinal));
                Assert.Equal(1.0, s.AggregationWeights.Values.Sum(), 12);
                var updates = s.Aggregated.Select(id => run.Sent[(s.Round, id)]).ToList();
                double total = updates.Sum(u => u.Samples);
                for (var i = 0; i < EngineHarness.Length; i++)
                    Assert.Equal(updates.Sum(u => u.Samples * (double)u.Weights["w"].Values[i]) / total, after["w"].Values[i], 5);
                global = after;
            }
            Assert.Equal(global.ContentHash, run.Completed!.FinalGlobal.ContentHash);
        }, print: c => c.ToString());
    }

    [Fact]
    public void Should_decide_the_same_for_the_same_seed_whatever_order_the_updates_arrive_in()
    {
        SeededProperty.ForAll(Cases, c =>
        {
            var first = Run(c);
            var again = Run(c);
            var reordered = Run(c, orderSeed: c.OrderSeed ^ 0x9E3779B97F4A7C15);
            Assert.Equal(Describe(first.Decisions), Describe(again.Decisions));
            Assert.Equal(first.Events, reordered.Events);
            Assert.Equal(first.Completed!.Rounds.Select(Summary), reordered.Completed!.Rounds.Select(Summary));
        }, print: c => c.ToString());
    }

    private static string Summary(RoundSummary s) => string.Join(" | ", s.Round, s.GlobalHash, s.Skipped, s.Attempts, s.SimulatedClock,
        string.Join(' ', Outcomes(s).Select(o => $"{o.Kind}:{string.Join(',', o.Ids)}")),
        string.Join(',', s.AggregationWeights.OrderBy(w => w.Key, StringComparer.Ordinal).Select(w => $"{w.Key}={w.Value:R}")));

    private static List<string> Describe(IEnumerable<RoundDecision> decisions) => decisions.Select(d => d switch
    {
        CloseRound c => $"close {Summary(c.Summary)}",
        SaveCheckpoint s => $"checkpoint {s.Snapshot.CompletedRound} {s.Snapshot.Global.ContentHash}",
        FinishRun f => $"finish {f.Completed.FinalGlobal.ContentHash}",
        OfferGlobal o => $"offer {o.Round} {o.Global.ContentHash}",
        _ => d.ToString()!,
    }).ToList();

    // Rules one by one.

    private static CoordinatorSettings Settings(int rounds = 1) => new()
    {
        Rounds = rounds, Seed = 5, Heterogeneity = new Heterogeneity { SecondsPerStep = 1 },
    };

    [Fact]
    public void Should_report_a_checkpoint_that_was_not_saved_naming_a_full_disk_and_go_on_to_the_same_model()
    {
        var whole = new EngineHarness(Settings(rounds: 3), 4, 3).Run();
        var full = new EngineHarness(Settings(rounds: 3), 4, 3)
        {
            WriteCheckpoint = s => s.Snapshot.CompletedRound switch
            {
                2 => new CheckpointWritten("No space left on device : '/runs/x/snapshots/snapshot-coordinator-2'", StorageFull: true),
                3 => new CheckpointWritten("Access denied", StorageFull: false),
                _ => new CheckpointWritten(),
            },
        }.Run();

        var failures = full.Events.Where(e => e.Kind is RunEventKinds.StorageFull or RunEventKinds.CheckpointFailed).ToList();
        Assert.Equal([(2, RunEventKinds.StorageFull), (3, RunEventKinds.CheckpointFailed)], failures.Select(e => (e.Round, e.Kind)));
        Assert.Equal("the coordinator's checkpoint after round 2 was not saved: No space left on device : '/runs/x/snapshots/snapshot-coordinator-2'", failures[0].Reason);
        Assert.DoesNotContain(whole.Events, e => e.Kind is RunEventKinds.StorageFull or RunEventKinds.CheckpointFailed);
        // The engine goes on (whoever runs it decides whether a run without checkpoints may): the same rounds, the same model.
        Assert.Equal(whole.Completed!.FinalGlobal.ContentHash, full.Completed!.FinalGlobal.ContentHash);
    }

    [Fact]
    public void Should_make_an_update_after_the_deadline_late_and_count_it_in_its_round()
    {
        var harness = new EngineHarness(Settings() with { DeadlineSeconds = 8, MinParticipants = 1 }, 6, 1);
        var run = harness.Run();
        var round = Assert.Single(run.Completed!.Rounds);
        // Each update arrives at its steps × 1 s plus a few bytes' transfer at 100 Mbps: 8 steps or more are late.
        var late = harness.Hospitals.Where(h => harness.UpdateOf(h, 1).Steps >= 8).ToList();
        Assert.NotEmpty(late);
        Assert.Equal(late, round.Late);
        Assert.Equal(harness.Hospitals.Except(late), round.Aggregated);
        Assert.All(round.Late, id => Assert.Contains("after the deadline at 8.0 s", Assert.Single(run.Events, e => e.HospitalId == id && e.Kind == RunEventKinds.Late).Reason));
        Assert.Equal(8, round.SimulatedSeconds); // short of all 6 on time, the round waits for its deadline
    }

    [Fact]
    public void Should_keep_the_first_k_to_finish_under_over_selection_and_call_the_rest_surplus()
    {
        var harness = new EngineHarness(Settings() with { SampleFraction = 0.5, OverSelection = 1 }, 6, 2);
        var round = Assert.Single(harness.Run().Completed!.Rounds);
        Assert.Equal(6, round.Selected.Count); // 3 wanted × 2
        var bySpeed = harness.Hospitals.OrderBy(h => harness.UpdateOf(h, 1).Steps).ThenBy(h => h, StringComparer.Ordinal).ToList();
        Assert.Equal(bySpeed.Take(3).Order(StringComparer.Ordinal), round.Aggregated);
        Assert.Equal(bySpeed.Skip(3).Order(StringComparer.Ordinal), round.Surplus);
    }

    [Fact]
    public void Should_count_a_reply_for_a_closed_round_as_stale_in_the_round_it_came_in_and_a_repeat_as_a_duplicate()
    {
        // Every second answer is delivered twice: the repeat lands in the same round (a duplicate) or after it closed (stale).
        var run = new EngineHarness(Settings(rounds: 3), 4, 3, repeatEvery: 2).Run();
        var rounds = run.Completed!.Rounds;
        // 12 answers, 6 repeated; the last repeat comes after the run ended, counted by no round.
        Assert.Equal(5, rounds.Sum(r => r.DuplicateReplies + r.StaleReplies));
        Assert.NotEqual(0, rounds.Sum(r => r.StaleReplies));
        foreach (var e in run.Events.Where(e => e.Kind == RunEventKinds.Stale))
        {
            Assert.Contains("which had closed", e.Reason);
            Assert.Contains($"round {e.Round - 1}", e.Reason); // the repeat of the last answer, counted in the next round
        }
        Assert.All(rounds, r => Assert.Equal(4, r.Aggregated.Count));
    }

    [Fact]
    public void Should_drop_the_silent_hospitals_when_the_wall_clock_timeout_passes()
    {
        var run = new EngineHarness(Settings(), 5, 4, silent: new HashSet<string> { "hospital-02", "hospital-04" }).Run();
        var round = Assert.Single(run.Completed!.Rounds);
        Assert.Equal(["hospital-02", "hospital-04"], round.Dropped);
        Assert.All(run.Events.Where(e => e.Kind == RunEventKinds.Dropped), e => Assert.Contains("wall-clock timeout", e.Reason));
    }

    [Fact]
    public void Should_drop_a_failed_hospital_and_ask_the_pending_again_when_a_node_is_lost()
    {
        var engine = new RoundEngine(Settings(), ["a", "b", "c"], EngineHarness.InitialGlobal, wallSeconds: () => 0);
        var requests = engine.Handle(new RunStartRequested()).OfType<SendRequest>().ToList();
        Assert.Equal(["a", "b", "c"], requests.Select(r => r.HospitalId));
        Assert.Equal(["a", "b", "c"], engine.Handle(new NodeLost("worker-1")).OfType<SendRequest>().Select(r => r.HospitalId));
        // A report without b's request token is somebody else's: ignored, never held against b.
        Assert.DoesNotContain(engine.Handle(new HospitalFailed(1, "b", "forged")).OfType<ReportProgress>(), p => p.Progress.Dropped == 1);
        var decisions = engine.Handle(new HospitalFailed(1, "b", "its training threw twice") { RequestToken = requests[1].RequestToken });
        Assert.Contains(decisions.OfType<ReportProgress>(), p => p.Progress.Dropped == 1);
        Assert.Equal(["a", "c"], engine.Handle(new NodeLost("worker-1")).OfType<SendRequest>().Select(r => r.HospitalId));
        Assert.Empty(engine.Handle(new HospitalFailed(1, "b", "again") { RequestToken = requests[1].RequestToken })); // it already has its outcome
    }

    [Fact]
    public void Should_refuse_a_strategy_that_chooses_a_hospital_not_available()
    {
        var harness = new EngineHarness(Settings(), 3, 5);
        var e = Assert.Throws<InvalidOperationException>(() => harness.Run(rules => new ChoosesAStranger(rules)));
        Assert.Contains("strategy ChoosesAStranger chose 'hospital-99' in round 1, attempt 1, which is not among the 3 available hospitals", e.Message);
    }

    [Fact]
    public void Should_refuse_aggregation_weights_that_do_not_sum_to_one()
    {
        var harness = new EngineHarness(Settings(), 3, 6);
        var e = Assert.Throws<InvalidOperationException>(() => harness.Run(rules => new HalfWeights(rules)));
        Assert.Contains("strategy HalfWeights's aggregation weights in round 1 must be non-negative and sum to 1, found a sum of 0.5", e.Message);
    }

    [Theory]
    [InlineData(Corruption.NaN, "holds NaN or Inf")]
    [InlineData(Corruption.Scaled, "exceeds 1E+06 × the global model's")]
    public void Should_reject_an_upload_the_fault_plan_corrupts_and_accept_the_others(Corruption corruption, string reason)
    {
        var settings = Settings(rounds: 2) with { Faults = new FaultPlan { Corruptions = [new ScriptedCorruption("hospital-02", 2, corruption)] } };
        var run = new EngineHarness(settings, 3, 7).Run();
        var (first, second) = (run.Completed!.Rounds[0], run.Completed.Rounds[1]);
        Assert.Equal(["hospital-01", "hospital-02", "hospital-03"], first.Aggregated);
        Assert.Equal(["hospital-02"], second.Rejected);
        Assert.Equal(["hospital-01", "hospital-03"], second.Aggregated);
        var events = EventsOf(run, 2).Where(e => e.HospitalId == "hospital-02").Select(e => e.Kind).ToList();
        Assert.Equal([RunEventKinds.Selected, RunEventKinds.Corrupted, RunEventKinds.Rejected], events);
        Assert.Contains(reason, Assert.Single(EventsOf(run, 2), e => e.Kind == RunEventKinds.Rejected).Reason);
    }

    [Fact]
    public void Should_tell_the_strategy_of_every_failure_and_show_it_each_hospital_s_past_rounds()
    {
        var settings = Settings(rounds: 3) with
        {
            Faults = new FaultPlan { Drops = [new ScriptedDrop("hospital-01", 1, DropoutStage.BeforeTraining), new ScriptedDrop("hospital-01", 2, DropoutStage.AfterUpload)] },
        };
        var strategies = new List<Recording>();
        var run = new EngineHarness(settings, 3, 7).Run(rules =>
        {
            var s = new Recording(rules);
            strategies.Add(s);
            return s;
        });
        var strategy = Assert.Single(strategies);
        Assert.Equal([(1, "hospital-01", UpdateOutcome.Dropped), (2, "hospital-01", UpdateOutcome.Lost)],
            strategy.Failures.Select(f => (f.Round, f.HospitalId, f.Outcome)));
        var third = strategy.Seen[2];
        Assert.Equal((2, 0, 2, 0), (third["hospital-01"].Selected, third["hospital-01"].Aggregated, third["hospital-01"].Failed, third["hospital-01"].LastAggregated));
        Assert.Equal((2, 2, 0, 2), (third["hospital-02"].Selected, third["hospital-02"].Aggregated, third["hospital-02"].Failed, third["hospital-02"].LastAggregated));
        Assert.Equal(3, run.Completed!.Rounds.Count);
    }

    [Fact]
    public void Should_show_a_recovered_coordinator_s_strategy_the_same_past_rounds()
    {
        var settings = Settings(rounds: 3) with
        {
            Faults = new FaultPlan { Drops = [new ScriptedDrop("hospital-02", 1, DropoutStage.BeforeTraining)], CoordinatorCrashes = [new ScriptedCoordinatorCrash(3)] },
        };
        var strategies = new List<Recording>();
        var run = new EngineHarness(settings, 3, 8).Run(rules =>
        {
            var s = new Recording(rules);
            strategies.Add(s);
            return s;
        });
        Assert.Equal(2, run.Incarnations);
        // Round 3's selection, before and after the crash, saw the same records: rebuilt from the checkpointed history.
        Assert.Equal(strategies[0].Seen[2].Values, strategies[1].Seen[0].Values);
        Assert.Equal(1, strategies[1].Seen[0]["hospital-02"].Failed);
        Assert.Single(run.Events, e => e.Kind == RunEventKinds.CoordinatorRecovered);
    }

    [Fact]
    public void Should_count_a_failovers_stall_into_the_seconds_of_the_round_it_interrupted_and_no_other()
    {
        var settings = Settings(rounds: 4) with { Faults = new FaultPlan { CoordinatorCrashes = [new ScriptedCoordinatorCrash(3)] } };
        var run = new EngineHarness(settings, 3, 8) { StallOnRecovery = 14.5 }.Run();
        Assert.Equal(2, run.Incarnations);
        // The harness's wall clock stands still: only the stall the recovery reports can move a round's seconds.
        Assert.Equal([0, 0, 14.5, 0], run.Completed!.Rounds.Select(r => r.WallSeconds));
    }

    [Theory]
    [InlineData(100, 130, 50, 30)]    // saved while this process was up: a failover within the run stalled it 30 s
    [InlineData(100, 130, 100, 30)]   // saved the moment it started
    [InlineData(100, 5000, 200, 0)]   // saved before this process started: a resumed run's downtime is no round's time
    [InlineData(100, 90, 50, 0)]      // a clock that went backwards: no negative stall
    public void Should_reckon_a_stall_only_from_a_checkpoint_saved_while_this_process_ran(int savedAt, int now, int started, double stall)
    {
        var origin = new DateTime(2026, 12, 7, 0, 0, 0, DateTimeKind.Utc);
        Assert.Equal(stall, RecoveredFromSnapshot.Stall(origin.AddSeconds(savedAt), origin.AddSeconds(now), origin.AddSeconds(started)));
    }

    private sealed class ChoosesAStranger(RoundRules rules) : FedAvgStrategy(rules)
    {
        public override IReadOnlyList<string> SelectClients(ClientSelection selection) => [.. selection.Available, "hospital-99"];
    }

    private sealed class HalfWeights(RoundRules rules) : FedAvgStrategy(rules)
    {
        public override ServerAggregate Aggregate(RoundAggregation aggregation)
        {
            var full = base.Aggregate(aggregation);
            return full with { ClientWeights = full.ClientWeights.ToDictionary(w => w.Key, w => w.Value / 2) };
        }
    }

    private sealed class Recording(RoundRules rules) : FedAvgStrategy(rules)
    {
        public List<ClientFailure> Failures { get; } = new();
        public List<IReadOnlyDictionary<string, ClientRecord>> Seen { get; } = new();

        public override IReadOnlyList<string> SelectClients(ClientSelection selection)
        {
            Seen.Add(selection.Clients.ToDictionary());
            return base.SelectClients(selection);
        }

        public override void OnFailure(ClientFailure failure) => Failures.Add(failure);
    }
}
