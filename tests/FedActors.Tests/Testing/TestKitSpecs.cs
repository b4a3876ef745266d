using Akka.Actor;
using Akka.TestKit;
using FedActors.Actors.Coordination;
using FedActors.Actors.Protocol;
using FedActors.Actors.Rounds;
using FedActors.Testing;
using FedActors.Training.Weights;
using Xunit.Abstractions;

namespace FedActors.Tests.Testing;

/// <summary>
/// The kit's <see cref="FedActorsTestKit"/> on virtual time, through its public API only: test probes stand in for
/// hospitals, and the round's wall-clock timeout fires only when the test advances the clock.
/// </summary>
public sealed class TestKitSpecs(ITestOutputHelper output)
    : FedActorsTestKit(output, virtualTime: true, extraHocon: TestTime.AkkaTestHocon)
{
    private static ModelWeights Filled(float value) => new([new WeightTensor("w", [2, 2], Enumerable.Repeat(value, 4).ToArray())]);

    [Fact]
    public void Should_drop_a_silent_hospital_only_when_the_virtual_clock_passes_the_round_timeout()
    {
        var ids = new[] { "hospital-01", "hospital-02", "hospital-03" };
        var probes = ids.ToDictionary(id => id, _ => CreateTestProbe());
        var coordinator = Sys.ActorOf(RoundCoordinator.Props(
            new CoordinatorSettings { Rounds = 1, MinParticipants = 2, Seed = 9, RoundTimeout = TimeSpan.FromMinutes(10), ResendInterval = TimeSpan.FromMinutes(4) },
            probes.ToDictionary(p => p.Key, p => p.Value.Ref), Filled(0), Transfer));
        var log = StartLoggedRun(coordinator);
        var requests = probes.ToDictionary(p => p.Key, p => p.Value.ExpectMsg<TrainRoundByRef>());
        Assert.All(requests.Values, r => Assert.Equal(1, r.Round));

        coordinator.Tell(Update(requests["hospital-01"], "hospital-01", Filled(1), samples: 10));
        coordinator.Tell(Update(requests["hospital-02"], "hospital-02", Filled(5), samples: 30));
        // Both updates are judged before the clock moves.
        AwaitAssert(() => Assert.Equal((1, 2, 1), (log.Progress?.Round, log.Progress?.Accepted, log.Progress?.Training)));

        // The resends at 4 and 8 minutes ask the silent one again; at 9.5 minutes the round is still open.
        for (var minute = 4; minute <= 8; minute += 4)
        {
            Clock.Advance(TimeSpan.FromMinutes(4));
            Assert.Equal(1, probes["hospital-03"].ExpectMsg<TrainRoundByRef>().Round);
        }
        Clock.Advance(TimeSpan.FromMinutes(1.5));
        Assert.Empty(log.Rounds);

        Clock.Advance(TimeSpan.FromMinutes(0.5));
        var completed = ExpectMsg<RunCompleted>();
        var round = Assert.Single(completed.Rounds);
        Assert.Equal(["hospital-01", "hospital-02"], round.Aggregated);
        Assert.Equal(["hospital-03"], round.Dropped);
        Assert.Contains("wall-clock timeout", Assert.Single(log.Of(RunEventKinds.Dropped)).Reason);
        // FedAvg by samples: (10 * 1 + 30 * 5) / 40.
        Assert.Equal(0.25, round.AggregationWeights["hospital-01"], 12);
        Assert.Equal(0.75, round.AggregationWeights["hospital-02"], 12);
        Assert.All(completed.FinalGlobal["w"].Values, v => Assert.Equal(4f, v, 5));
        Assert.Equal(round.GlobalHash, Assert.Single(log.Rounds).GlobalHash);
    }

    /// <summary>FedAvg that remembers every failure it is told of.</summary>
    private sealed class FailureRecordingStrategy(RoundRules rules) : FedAvgStrategy(rules)
    {
        public List<ClientFailure> Failures { get; } = new();
        public override void OnFailure(ClientFailure failure) => Failures.Add(failure);
    }

    [Fact]
    public void Should_drop_a_hospital_whose_training_failed_at_once_and_tell_the_strategy()
    {
        var ids = new[] { "hospital-01", "hospital-02" };
        var probes = ids.ToDictionary(id => id, _ => CreateTestProbe());
        FailureRecordingStrategy? strategy = null;
        var coordinator = Sys.ActorOf(RoundCoordinator.Props(
            new CoordinatorSettings
            {
                Rounds = 1, MinParticipants = 1, Seed = 9, RoundTimeout = TimeSpan.FromMinutes(10), ResendInterval = TimeSpan.FromMinutes(4),
                Strategy = rules => strategy = new FailureRecordingStrategy(rules),
            },
            probes.ToDictionary(p => p.Key, p => p.Value.Ref), Filled(0), Transfer));
        var log = StartLoggedRun(coordinator);
        var requests = probes.ToDictionary(p => p.Key, p => p.Value.ExpectMsg<TrainRoundByRef>());

        coordinator.Tell(Update(requests["hospital-01"], "hospital-01", Filled(3), samples: 10));
        // A report naming hospital-02 without its request's token is a forgery: ignored, hospital-02 still awaited.
        coordinator.Tell(new HospitalTrainingFailed(1, "hospital-02", "forged"));
        // What a hospital sends when its training threw on every immediate retry.
        coordinator.Tell(new HospitalTrainingFailed(1, "hospital-02", "its training failed 3 times: CUDA error") { RequestToken = requests["hospital-02"].RequestToken });

        // The virtual clock never moves: the round closes on the failure, not at its timeout.
        var round = Assert.Single(ExpectMsg<RunCompleted>().Rounds);
        Assert.Equal(["hospital-01"], round.Aggregated);
        Assert.Equal(["hospital-02"], round.Dropped);
        Assert.Equal("its training failed 3 times: CUDA error", Assert.Single(log.Of(RunEventKinds.Dropped)).Reason);
        var failure = Assert.Single(strategy!.Failures);
        Assert.Equal((1, "hospital-02", UpdateOutcome.Dropped), (failure.Round, failure.HospitalId, failure.Outcome));
        Assert.Contains("CUDA error", failure.Reason);
    }

    [Fact]
    public void Should_refuse_the_virtual_clock_of_a_kit_on_the_real_clock()
    {
        var kit = new RealClockKit();
        try { Assert.Contains("virtualTime: true", Assert.Throws<InvalidOperationException>(() => kit.ClockOf()).Message); }
        finally { kit.Dispose(); }
    }

    private sealed class RealClockKit() : FedActorsTestKit(extraHocon: TestTime.AkkaTestHocon)
    {
        public TestScheduler ClockOf() => Clock;
    }
}
