using Akka.Actor;
using FedActors.Actors;
using FedActors.Actors.Coordination;
using FedActors.Actors.Hospitals;
using FedActors.Actors.Protocol;
using FedActors.Training.Aggregation;
using FedActors.Training.Experiments;
using FedActors.Training.Weights;
using Xunit.Abstractions;

namespace FedActors.Tests.Actors;

public class RoundCoordinatorSpecs(ITestOutputHelper output) : ActorSpec(2, output)
{
    private readonly FederatedExperiment _experiment = new(TinyExperiment.Settings());

    /// <param name="crashed">Hospitals whose actors are stopped before the run: failures nobody injected or announced.</param>
    private (IActorRef Coordinator, Akka.TestKit.TestProbe Uploads) StartTappedRun(CoordinatorSettings settings, params string[] crashed)
    {
        var uploads = CreateTestProbe();
        var hospitals = TinyExperiment.UnequalHospitals(_experiment).ToDictionary(
            h => h.HospitalId,
            h =>
            {
                var hospital = Sys.ActorOf(HospitalActor.Props(h, Transfer), h.HospitalId);
                if (crashed.Contains(h.HospitalId)) Sys.Stop(hospital);
                return Sys.ActorOf(UploadTap.Props(hospital, Transfer, uploads));
            });
        var coordinator = Sys.ActorOf(RoundCoordinator.Props(settings, hospitals, _experiment.InitialGlobal(), Transfer));
        coordinator.Tell(StartRun.Instance, TestActor);
        return (coordinator, uploads);
    }

    private static void AssertEqualsWeightedMean(ModelWeights global, IReadOnlyList<LocalUpdate> updates)
    {
        var total = updates.Sum(u => (double)u.Samples);
        foreach (var tensor in global.Tensors)
        {
            for (var k = 0; k < tensor.Values.Length; k++)
            {
                var expected = updates.Sum(u => u.Samples / total * u.Weights[tensor.Name].Values[k]);
                Assert.True(Math.Abs(expected - tensor.Values[k]) <= 1e-6,
                    $"{tensor.Name}[{k}]: aggregate {tensor.Values[k]}, weighted mean {expected}");
            }
        }
    }

    [Fact]
    public void Should_close_a_round_with_all_eight_hospitals_at_the_sample_weighted_mean()
    {
        var (_, uploads) = StartTappedRun(new CoordinatorSettings { Rounds = 1, MinParticipants = 8, RoundTimeout = TimeSpan.FromMinutes(2), Seed = 7 });

        var completed = ExpectMsg<RunCompleted>(Dilated(TimeSpan.FromMinutes(2)));
        var received = uploads.ReceiveN(8).Cast<LocalUpdate>().ToList();

        var round = Assert.Single(completed.Rounds);
        Assert.Equal(8, round.Aggregated.Count);
        Assert.Empty(round.Dropped);
        Assert.False(round.Skipped);
        Assert.Equal(8, received.Select(u => u.Samples).Distinct().Count()); // shard sizes differ: the weights matter
        AssertEqualsWeightedMean(completed.FinalGlobal, received);
        Assert.NotEqual(_experiment.InitialGlobal().ContentHash, completed.FinalGlobal.ContentHash);
    }

    [Fact]
    public void Should_close_at_the_wall_clock_timeout_without_two_crashed_hospitals_and_record_them()
    {
        var (_, uploads) = StartTappedRun(
            new CoordinatorSettings { Rounds = 1, MinParticipants = 6, RoundTimeout = TimeSpan.FromSeconds(15), Seed = 7 },
            "hospital-03", "hospital-06");

        var completed = ExpectMsg<RunCompleted>(Dilated(TimeSpan.FromMinutes(2)));
        var received = uploads.ReceiveN(6).Cast<LocalUpdate>().ToList();
        uploads.ExpectNoMsg(TimeSpan.FromMilliseconds(200));

        var round = Assert.Single(completed.Rounds);
        Assert.Equal(["hospital-03", "hospital-06"], round.Dropped);
        Assert.Equal(6, round.Aggregated.Count);
        Assert.DoesNotContain("hospital-03", round.Aggregated);
        Assert.False(round.Skipped);
        Assert.True(round.WallSeconds >= 15, $"closed after {round.WallSeconds:F1} s, before its deadline");
        AssertEqualsWeightedMean(completed.FinalGlobal, received);
    }

    [Fact]
    public void Should_skip_the_round_and_keep_the_global_when_too_few_answer_by_the_timeout()
    {
        // The round timeout is wall-clock time, so the one hospital that answers must answer well within it whatever the
        // machine's load: a drift learner trains in microseconds, where a first MoCo round (torch start-up included)
        // took longer than the 5 s on a loaded machine and was dropped with the others.
        var uploads = CreateTestProbe();
        var hospitals = DriftLearner.Hospitals(8).ToDictionary(h => h.HospitalId, h =>
        {
            var hospital = Sys.ActorOf(HospitalActor.Props(h, Transfer), h.HospitalId);
            if (h.HospitalId != "hospital-000") Sys.Stop(hospital); // seven failures nobody injected or announced
            return Sys.ActorOf(UploadTap.Props(hospital, Transfer, uploads));
        });
        var initial = DriftLearner.InitialGlobal();
        Sys.ActorOf(RoundCoordinator.Props(new CoordinatorSettings { Rounds = 1, MinParticipants = 2, RoundTimeout = TimeSpan.FromSeconds(5), Seed = 7 },
            hospitals, initial, Transfer)).Tell(StartRun.Instance, TestActor);

        var completed = ExpectMsg<RunCompleted>(Dilated(TimeSpan.FromMinutes(1)));
        Assert.Equal("hospital-000", uploads.ExpectMsg<LocalUpdate>().HospitalId);
        var round = Assert.Single(completed.Rounds);
        Assert.True(round.Skipped);
        Assert.Equal(7, round.Dropped.Count);
        Assert.DoesNotContain("hospital-000", round.Dropped);
        Assert.Equal(initial.ContentHash, completed.FinalGlobal.ContentHash);
    }
}
