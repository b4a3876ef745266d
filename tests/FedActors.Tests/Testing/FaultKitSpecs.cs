using FedActors.Actors.Faults;
using FedActors.Actors.Rounds;
using FedActors.Host.Configuration;
using FedActors.Testing;
using FedActors.Tests.Host;

namespace FedActors.Tests.Testing;

/// <summary>
/// Each fault the testing kit injects, through its public API only: what became of the faulted hospital, and of the
/// others in that round. Tiny runs of 4 hospitals, 2 or 3 rounds.
/// </summary>
[Collection(InProcessRuns.Name)]
public sealed class FaultKitSpecs
{
    private static readonly string[] All = ["hospital-01", "hospital-02", "hospital-03", "hospital-04"];

    private static string[] AllBut(params string[] ids) => All.Except(ids).ToArray();

    private static Task<SimulationRun> Run(Simulation simulation) => simulation.Within(TimeSpan.FromMinutes(3)).RunAsync();

    /// <summary>The others of the round were selected and aggregated, each with a weight, summing to 1.</summary>
    private static void OthersAggregated(RoundReport round, params string[] faulted)
    {
        Assert.Equal(All, round.Selected);
        Assert.Equal(AllBut(faulted), round.Aggregated);
        Assert.Equal(AllBut(faulted), round.AggregationWeights.Keys.Order(StringComparer.Ordinal));
        Assert.Equal(1.0, round.AggregationWeights.Values.Sum(), precision: 6);
    }

    [Fact]
    public async Task Should_leave_a_hospital_dropped_during_training_out_of_that_round()
    {
        await using var run = await Run(Simulation.Create().Rounds(2).Drop("hospital-03", round: 1, DropoutStage.DuringTraining));
        Assert.Equal(UpdateOutcome.Dropped, run.Round(1).OutcomeOf("hospital-03"));
        Assert.Contains("scripted drop during training", run.Round(1).ReasonFor("hospital-03"));
        OthersAggregated(run.Round(1), "hospital-03");
        OthersAggregated(run.Round(2));
    }

    [Fact]
    public async Task Should_slow_a_straggler_from_its_round_on_and_still_aggregate_it_without_a_deadline()
    {
        await using var run = await Run(Simulation.Create().Rounds(2).Slow("hospital-02", fromRound: 2, factor: 8));
        Assert.DoesNotContain(run.Round(1).Events, e => e.Kind == "slowed");
        var slowed = Assert.Single(run.Round(2).Events, e => e.Kind == "slowed");
        Assert.Equal("hospital-02", slowed.HospitalId);
        // Its update arrived last on the simulated clock, but it arrived: all four are aggregated.
        var accepted = run.Round(2).Events.Where(e => e.Kind == "accepted").ToList();
        Assert.Equal("hospital-02", accepted[^1].HospitalId);
        Assert.True(accepted[^1].SimulatedSeconds > accepted[0].SimulatedSeconds * 4);
        OthersAggregated(run.Round(2));
    }

    [Fact]
    public async Task Should_count_a_straggler_past_the_deadline_late_and_aggregate_the_others()
    {
        await using var run = await Run(Simulation.Create().Rounds(2).Deadline(10).Slow("hospital-04", fromRound: 2, factor: 1000));
        OthersAggregated(run.Round(1));
        Assert.Equal(UpdateOutcome.Late, run.Round(2).OutcomeOf("hospital-04"));
        Assert.Contains("after the deadline", run.Round(2).ReasonFor("hospital-04"));
        Assert.Equal(["hospital-04"], run.Round(2).Late);
        OthersAggregated(run.Round(2), "hospital-04");
    }

    [Theory]
    [InlineData(RoundMessage.Request, "request lost")]
    [InlineData(RoundMessage.Upload, "upload lost")]
    public async Task Should_count_hospitals_whose_message_was_lost_as_lost_and_accept_the_rest(RoundMessage message, string reason)
    {
        await using var run = await Run(Simulation.Create().Rounds(3).Seed(11).Lose(message, probability: 0.4));
        Assert.NotEmpty(run.Rounds.SelectMany(r => r.Lost)); // the seed fires it somewhere
        foreach (var round in run.Rounds)
        {
            Assert.Equal(All, round.Selected);
            foreach (var id in round.Lost) Assert.Contains(reason, round.ReasonFor(id));
            Assert.Equal(AllBut(round.Lost.ToArray()), round.Accepted);
        }
    }

    [Fact]
    public async Task Should_recover_from_a_coordinator_crash_and_rerun_its_round_with_every_hospital()
    {
        await using var run = await Run(Simulation.Create().Rounds(3).CrashCoordinator(round: 2));
        Assert.Contains(run.Events, e => e.Kind == "coordinator-crash" && e.Round == 2);
        Assert.Contains(run.Events, e => e.Kind == "coordinator-recovered");
        Assert.Equal([1, 2, 3], run.Rounds.Select(r => r.Number));
        foreach (var round in run.Rounds) OthersAggregated(round);
    }

    [Fact]
    public async Task Should_drop_hospitals_at_random_with_the_seeded_probability_and_aggregate_the_rest()
    {
        await using var run = await Run(Simulation.Create().Rounds(3).Seed(5).RandomDropout(0.4));
        Assert.NotEmpty(run.Rounds.SelectMany(r => r.Dropped));
        foreach (var round in run.Rounds)
        {
            foreach (var id in round.Dropped) Assert.Contains("random dropout (p = 0.4)", round.ReasonFor(id));
            Assert.Equal(AllBut(round.Dropped.ToArray()), round.Accepted);
        }
    }

    [Fact]
    public async Task Should_drop_a_hospital_that_goes_offline_mid_round_and_not_select_it_while_offline()
    {
        // On from 0 to 0.1 simulated seconds: its first upload would arrive later, and it is never on again.
        await using var run = await Run(Simulation.Create().Rounds(2).Available("hospital-01", (0, 0.1)));
        Assert.Equal(UpdateOutcome.Dropped, run.Round(1).OutcomeOf("hospital-01"));
        Assert.Contains("went offline", run.Round(1).ReasonFor("hospital-01"));
        OthersAggregated(run.Round(1), "hospital-01");
        Assert.Equal(AllBut("hospital-01"), run.Round(2).Selected);
        Assert.Equal(AllBut("hospital-01"), run.Round(2).Aggregated);
    }

    [Fact]
    public async Task Should_reject_an_upload_corrupted_with_a_NaN_and_aggregate_the_others()
    {
        await using var run = await Run(Simulation.Create().Rounds(2).Corrupt("hospital-02", round: 2, Corruption.NaN));
        OthersAggregated(run.Round(1));
        Assert.Equal(UpdateOutcome.Rejected, run.Round(2).OutcomeOf("hospital-02"));
        Assert.Contains("NaN", run.Round(2).ReasonFor("hospital-02"));
        Assert.Contains(run.Round(2).Events, e => e.Kind == "corrupted" && e.HospitalId == "hospital-02");
        OthersAggregated(run.Round(2), "hospital-02");
    }

    [Fact]
    public async Task Should_reject_an_upload_scaled_by_1e30_given_in_HOCON_and_aggregate_the_others()
    {
        await using var run = await Run(Simulation.Create().Rounds(2)
            .Faults("events = [ { kind = corrupt, hospital = hospital-03, round = 1, corruption = scaled } ]"));
        Assert.Equal(UpdateOutcome.Rejected, run.Round(1).OutcomeOf("hospital-03"));
        Assert.Contains("norm", run.Round(1).ReasonFor("hospital-03"));
        OthersAggregated(run.Round(1), "hospital-03");
        OthersAggregated(run.Round(2));
    }
    [Fact]
    public async Task Should_have_a_malicious_hospital_scale_its_own_upload_and_the_default_norm_bound_reject_it()
    {
        await using var run = await Run(Simulation.Create().Rounds(2).Malicious("hospital-02", fromRound: 1, MaliceKind.Scaled, 1e3));
        foreach (var round in new[] { run.Round(1), run.Round(2) })
        {
            Assert.Equal(UpdateOutcome.Rejected, round.OutcomeOf("hospital-02"));
            Assert.Contains("× the round's median", round.ReasonFor("hospital-02"));
            Assert.Contains(round.Events, e => e.Kind == "corrupted" && e.HospitalId == "hospital-02" && e.Reason.Contains("scaled by 1000", StringComparison.Ordinal));
            OthersAggregated(round, "hospital-02");
        }
    }

    [Fact]
    public async Task Should_lose_a_worker_node_mid_run_and_finish_every_round_with_its_hospitals_restored_on_the_survivor()
    {
        await using var oneProcess = await Run(Simulation.Create().Rounds(3).Seed(4));
        await using var run = await Run(Simulation.Create().Rounds(3).Seed(4).Workers(2).CrashWorker("worker-1", round: 2));

        var crash = Assert.Single(run.Events, e => e.Kind == "worker-crash");
        Assert.Equal((2, "scripted crash of worker 'worker-1'"), (crash.Round, crash.Reason));
        // worker-1 leaves the cluster once: in round 2 if that round still waited for its hospitals (they are then asked
        // again), or in round 3 if they had answered round 2 before the node went down.
        // (Once: the nodes that leave as the simulation shuts down, after its last round, are not news.)
        var lost = Assert.Single(run.Events, e => e.Kind == "node-lost");
        Assert.Contains(lost.Round, new[] { 2, 3 });
        Assert.Contains("left the cluster", lost.Reason);
        // Its hospitals next answered from worker-2, each restored from its last snapshot (round 1's, or round 2's if it
        // had saved round 2 before the node went down), and moved once; the metrics count what the events say.
        var moved = run.Events.Where(e => e.Kind == "hospital-moved").ToList();
        var restored = run.Events.Where(e => e.Kind == "hospital-restored").ToList();
        Assert.NotEmpty(moved);
        Assert.Equal(moved.Select(e => e.HospitalId).Distinct().Count(), moved.Count);
        Assert.Equal(moved.Select(e => e.HospitalId).Order(), restored.Select(e => e.HospitalId).Order());
        Assert.All(restored, e => Assert.Matches("round-[12] snapshot", e.Reason));
        Assert.All(moved, e => Assert.Contains(e.Round, new[] { 2, 3 }));
        Assert.Equal((1, moved.Count, restored.Count),
            (run.Rounds.Sum(r => r.Summary.NodesLost), run.Rounds.Sum(r => r.Summary.HospitalsMoved), run.Rounds.Sum(r => r.Summary.HospitalsRestored)));
        Assert.All(run.Rounds, r => Assert.Equal(r.Events.Count(e => e.Kind == "hospital-moved"), r.Summary.HospitalsMoved));
        // The hospitals worker-1 hosted were asked again on the survivor and answered from their restored state:
        // nobody is missing from any round, and the numbers are the one-process run's, bit for bit.
        foreach (var round in run.Rounds) OthersAggregated(round);
        Assert.Equal(oneProcess.Rounds.Select(r => r.GlobalHash), run.Rounds.Select(r => r.GlobalHash));
        Assert.Equal(oneProcess.FinalModelHash, run.FinalModelHash);
    }

    [Fact]
    public async Task Should_refuse_a_worker_crash_without_worker_nodes_or_naming_a_worker_it_does_not_have()
    {
        var alone = await Assert.ThrowsAsync<ConfigError>(() => Simulation.Create().CrashWorker("worker-1", round: 1).RunAsync());
        Assert.Contains("Workers(2)", alone.Message);
        var unknown = await Assert.ThrowsAsync<ConfigError>(() => Simulation.Create().Workers(2)
            .Faults("events = [ { kind = crash-worker, node = worker-7, round = 1 } ]").RunAsync());
        Assert.Contains("'worker-7'", unknown.Message);
    }
}
