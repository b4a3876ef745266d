using FedActors.Testing;
using Akka.Actor;
using FedActors.Actors.Coordination;
using FedActors.Actors.Protocol;
using FedActors.Training.Weights;
using Xunit.Abstractions;

namespace FedActors.Tests.Actors;

public class BadUpdateSpecs(ITestOutputHelper output) : ActorSpec(1, output)
{
    private static readonly ModelWeights Global = DriftLearner.InitialGlobal();

    private static ModelWeights Filled(float value) => new([new WeightTensor("w", [3, 4], Enumerable.Repeat(value, DriftLearner.Size).ToArray())]);

    /// <summary>
    /// Weights whose content no longer matches the hash they came with: a blob with one value byte flipped, read keeping its
    /// declared hash for the receiver to judge (<see cref="StoredHash.Declare"/>). (A fetch between nodes refuses such a blob
    /// itself; the coordinator checks again whatever reaches it.)
    /// </summary>
    private static ModelWeights Corrupted(ModelWeights weights)
    {
        using var buffer = new MemoryStream();
        weights.WriteTo(buffer);
        var bytes = buffer.ToArray();
        var at = bytes.AsSpan().IndexOf(BitConverter.GetBytes(weights["w"].Values[0]));
        bytes[at] ^= 0x20;
        return ModelWeights.ReadFrom(new MemoryStream(bytes), "corrupted upload", StoredHash.Declare);
    }

    [Fact]
    public void Should_reject_each_bad_update_with_its_reason_count_it_and_still_close_the_round()
    {
        var ids = new[] { "nan", "names", "shape", "future", "twice", "corrupt", "good" };
        var hospitals = ids.ToDictionary(id => id, _ => (IActorRef)CreateTestProbe());
        var handle = RunLog.Start(Sys, TestActor);
        var coordinator = Sys.ActorOf(RoundCoordinator.Props(
            new CoordinatorSettings { Rounds = 1, MinParticipants = 1, Seed = 2, RoundTimeout = TimeSpan.FromMinutes(1) }, hospitals, Global, Transfer));
        coordinator.Tell(new SubscribeToRun(handle.Ref));
        coordinator.Tell(StartRun.Instance, ActorRefs.NoSender); // RunCompleted comes through the log, after every event
        var requests = hospitals.ToDictionary(h => h.Key, h => ((Akka.TestKit.TestProbe)h.Value).ExpectMsg<TrainRoundByRef>());

        LocalUpdateByRef Update(string id, ModelWeights w, int samples = 10) =>
            new LocalUpdateByRef(1, id, Offer(w), samples, 0.5, 1, 0.01) { RequestToken = requests.GetValueOrDefault(id)?.RequestToken ?? 0 };
        var nan = Filled(1);
        nan.Tensors[0].Values[5] = float.NaN;
        coordinator.Tell(Update("nan", nan));
        coordinator.Tell(Update("names", new ModelWeights([new WeightTensor("v", [3, 4], new float[12])])));
        coordinator.Tell(Update("shape", new ModelWeights([new WeightTensor("w", [4, 3], new float[12])])));
        coordinator.Tell(Update("future", Filled(2)) with { Round = 2 });
        coordinator.Tell(Update("twice", Filled(3), samples: 30));
        coordinator.Tell(Update("twice", Filled(4)));
        coordinator.Tell(Update("corrupt", Corrupted(Filled(5))));
        coordinator.Tell(Update("stranger", Filled(6)));
        coordinator.Tell(Update("good", Filled(7), samples: 10));
        coordinator.Tell(Update("future", Filled(8), samples: 20)); // its answer for the open round: the last one missing

        var completed = ExpectMsg<RunCompleted>();
        var round = Assert.Single(completed.Rounds);
        Assert.False(round.Skipped);
        Assert.Equal(["future", "good", "twice"], round.Aggregated);
        // (30·3 + 10·7 + 20·8) / 60
        Assert.All(completed.FinalGlobal["w"].Values, v => Assert.Equal(320f / 60, v, 5));
        Assert.Equal(["corrupt", "names", "nan", "shape"], round.Rejected);
        Assert.Equal(2, round.UnexpectedReplies); // "future" for round 2, and "stranger"
        Assert.Equal(1, round.DuplicateReplies);

        string ReasonFor(string id, string kind) => Assert.Single(handle.Of(kind), e => e.HospitalId == id).Reason;
        Assert.Contains("tensor 'w' holds NaN or Inf", ReasonFor("nan", RunEventKinds.Rejected));
        Assert.Contains("tensor 0 is 'v' [3,4], expected 'w' [3,4]", ReasonFor("names", RunEventKinds.Rejected));
        Assert.Contains("tensor 0 is 'w' [4,3], expected 'w' [3,4]", ReasonFor("shape", RunEventKinds.Rejected));
        Assert.Contains("update for round 2, but round 1 is open", ReasonFor("future", RunEventKinds.Unexpected));
        Assert.Contains("a second update", ReasonFor("twice", RunEventKinds.Duplicate));
        Assert.Contains("payload hash mismatch", ReasonFor("corrupt", RunEventKinds.Rejected));
        Assert.Contains("not selected for this round", ReasonFor("stranger", RunEventKinds.Unexpected));
    }

    [Fact]
    public void Should_count_an_update_for_a_closed_round_as_stale_in_the_round_it_came_in()
    {
        var hospital = CreateTestProbe();
        var handle = RunLog.Start(Sys, TestActor);
        var coordinator = Sys.ActorOf(RoundCoordinator.Props(new CoordinatorSettings { Rounds = 2, Seed = 2 },
            new Dictionary<string, IActorRef> { ["h"] = hospital }, Global, Transfer));
        coordinator.Tell(new SubscribeToRun(handle.Ref));
        coordinator.Tell(StartRun.Instance, ActorRefs.NoSender); // RunCompleted comes through the log, after every event
        var update = new LocalUpdateByRef(1, "h", Offer(Filled(1)), 10, 0.5, 1, 0.01) { RequestToken = hospital.ExpectMsg<TrainRoundByRef>().RequestToken };
        coordinator.Tell(update);
        var second = hospital.ExpectMsg<TrainRoundByRef>();
        Assert.Equal(2, second.Round);
        coordinator.Tell(update); // round 1 is closed now
        coordinator.Tell(update with { Round = 2, RequestToken = second.RequestToken });

        var completed = ExpectMsg<RunCompleted>();
        Assert.Equal(1, completed.Rounds[1].StaleReplies);
        Assert.Equal(0, completed.Rounds[0].StaleReplies);
        Assert.Empty(completed.Rounds[1].Late); // its hospital was on time in both rounds
        var stale = Assert.Single(handle.Of(RunEventKinds.Stale));
        Assert.Contains("update for round 1, which had closed", stale.Reason);
        Assert.Equal(2, stale.Round); // the round whose metrics count it
        Assert.Empty(handle.Of(RunEventKinds.Late));
    }
}
