using Akka.Actor;
using FedActors.Actors.Coordination;
using FedActors.Actors.Faults;
using FedActors.Actors.Hospitals;
using FedActors.Actors.Protocol;
using FedActors.Actors.Rounds;
using Xunit.Abstractions;

namespace FedActors.Tests.Actors.Rounds;

/// <summary>A strategy of the user's own, plugged into the coordinator and run with real hospital actors.</summary>
public sealed class StrategyPluginSpecs(ITestOutputHelper output) : ActorSpec(1, output)
{
    private static readonly TimeSpan Timeout = TimeSpan.FromMinutes(2);

    /// <summary>Hospitals 000 to 002 drop in every round they are asked; 003 to 005 never do.</summary>
    private static CoordinatorSettings Settings(Func<RoundRules, IRoundStrategy>? strategy) => new()
    {
        Rounds = 6, SampleFraction = 0.5, Seed = 21, RoundTimeout = Timeout, Strategy = strategy,
        Faults = new FaultPlan
        {
            Drops = Enumerable.Range(1, 6).SelectMany(r => new[] { "hospital-000", "hospital-001", "hospital-002" }
                .Select(h => new ScriptedDrop(h, r, DropoutStage.DuringTraining))).ToList(),
        },
    };

    private RunCompleted Run(CoordinatorSettings settings)
    {
        var hospitals = DriftLearner.Hospitals(6).ToDictionary(h => h.HospitalId, h => Sys.ActorOf(HospitalActor.Props(h, Transfer)));
        var coordinator = Sys.ActorOf(RoundCoordinator.Props(settings, hospitals, DriftLearner.InitialGlobal(), Transfer));
        coordinator.Tell(StartRun.Instance);
        return ExpectMsg<RunCompleted>(Timeout);
    }

    [Fact]
    public void Should_run_a_user_strategy_that_never_asks_a_hospital_again_after_it_failed()
    {
        var reliable = Run(Settings(rules => new PreferReliableHospitals(rules)));
        var plain = Run(Settings(strategy: null));

        Assert.Equal(6, reliable.Rounds.Count);
        var failures = reliable.Rounds.SelectMany(r => r.Dropped).ToList();
        // Three hospitals always have no failure, so one that failed is never chosen again: each fails at most once.
        Assert.Equal(failures.Distinct().Count(), failures.Count);
        Assert.All(failures, id => Assert.Contains(id, new[] { "hospital-000", "hospital-001", "hospital-002" }));
        // Every round it asked only hospitals with the fewest failures so far.
        for (var r = 1; r < reliable.Rounds.Count; r++)
        {
            var failedBefore = reliable.Rounds.Take(r).SelectMany(s => s.Dropped).ToHashSet();
            Assert.DoesNotContain(reliable.Rounds[r].Selected, failedBefore.Contains);
        }
        // FedAvg's uniform sample, same seed and faults, keeps asking them.
        Assert.True(plain.Rounds.Sum(r => r.Dropped.Count) > failures.Count,
            $"FedAvg's sample lost {plain.Rounds.Sum(r => r.Dropped.Count)} updates, the reliable strategy {failures.Count}");
        Assert.True(reliable.Rounds.Sum(r => r.Aggregated.Count) > plain.Rounds.Sum(r => r.Aggregated.Count));
    }
}
