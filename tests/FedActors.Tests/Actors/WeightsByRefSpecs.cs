using Akka.Actor;
using FedActors.Actors.Coordination;
using FedActors.Actors.Hospitals;
using FedActors.Actors.Protocol;
using FedActors.Actors.Transfer;
using FedActors.Training.Experiments;
using Xunit.Abstractions;

namespace FedActors.Tests.Actors;

/// <summary>
/// Rounds with weights by reference, in one process: the coordinator and the hospitals use
/// different transfer actors (as on different nodes), so every fetch goes through chunks.
/// </summary>
public class WeightsByRefSpecs(ITestOutputHelper output) : ActorSpec(2, output)
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(60);
    private static readonly WeightsTransferSettings SmallChunks = new() { ChunkBytes = 16 * 1024 };
    private readonly FederatedExperiment _experiment = new(TinyExperiment.Settings(hospitals: 4));

    [Fact]
    public void Should_run_rounds_with_weights_by_reference_between_two_transfer_actors()
    {
        var coordinatorNode = Sys.ActorOf(WeightsTransfer.Props(SmallChunks));
        var workerNode = Sys.ActorOf(WeightsTransfer.Props(SmallChunks));
        var hospitals = TinyExperiment.UnequalHospitals(_experiment).ToDictionary(
            h => h.HospitalId, h => Sys.ActorOf(HospitalActor.Props(h, transfer: workerNode), h.HospitalId));
        var coordinator = Sys.ActorOf(RoundCoordinator.Props(
            new CoordinatorSettings { Rounds = 2, MinParticipants = 4, RoundTimeout = TimeSpan.FromMinutes(1), Seed = 7 },
            hospitals, _experiment.InitialGlobal(), transfer: coordinatorNode));

        coordinator.Tell(StartRun.Instance);
        var completed = ExpectMsg<RunCompleted>(Timeout);

        Assert.All(completed.Rounds, r =>
        {
            Assert.Equal(4, r.Aggregated.Count);
            Assert.Empty(r.Rejected);
            Assert.Equal(0, r.UnexpectedReplies);
            Assert.Equal(4 * completed.FinalGlobal.PayloadBytes, r.BytesUp);
            Assert.Equal(4 * completed.FinalGlobal.PayloadBytes, r.BytesDown);
        });
        Assert.NotEqual(_experiment.InitialGlobal().ContentHash, completed.FinalGlobal.ContentHash);
    }

    [Fact]
    public async Task Should_answer_a_resent_request_by_reference_without_training_again()
    {
        var transfer = Sys.ActorOf(WeightsTransfer.Props());
        var site = _experiment.Sites.Sites[0];
        var hospital = Sys.ActorOf(HospitalActor.Props(
            new HospitalDefinition(site.HospitalId, () => site.Train, () => _experiment.CreateLearner(site.HospitalId)), transfer: transfer));
        var global = await transfer.OfferAsync(_experiment.InitialGlobal(), Timeout);

        hospital.Tell(new TrainRoundByRef(1, global));
        var first = ExpectMsg<LocalUpdateByRef>(Timeout);
        hospital.Tell(new TrainRoundByRef(1, global));
        var again = ExpectMsg<LocalUpdateByRef>(Timeout);

        Assert.Equal(first.Weights.ContentHash, again.Weights.ContentHash);
        Assert.Equal(first.Steps, again.Steps);
        hospital.Tell(GetLocalState.Instance);
        Assert.Equal(first.Steps, ExpectMsg<LocalStateReport>().State!.OptimizerSteps); // trained once
        var uploaded = await transfer.FetchAsync(first.Weights, Timeout);
        Assert.Equal(first.Weights.ContentHash, uploaded.ContentHash);

        // The next round's upload replaces this one's offer.
        hospital.Tell(new TrainRoundByRef(2, global));
        var second = ExpectMsg<LocalUpdateByRef>(Timeout);
        await transfer.FetchAsync(second.Weights, Timeout);
        await Assert.ThrowsAsync<WeightsTransferException>(() => transfer.FetchAsync(first.Weights, Timeout));
    }

    [Fact]
    public async Task Should_ask_again_for_an_upload_whose_weights_cannot_be_fetched_and_drop_it_at_the_timeout()
    {
        var transfer = Sys.ActorOf(WeightsTransfer.Props());
        var a = CreateTestProbe();
        var b = CreateTestProbe();
        var global = _experiment.InitialGlobal();
        var coordinator = Sys.ActorOf(RoundCoordinator.Props(
            new CoordinatorSettings { Rounds = 1, MinParticipants = 1, RoundTimeout = TimeSpan.FromSeconds(4), ResendInterval = TimeSpan.FromSeconds(1), Seed = 7 },
            new Dictionary<string, IActorRef> { ["a"] = a.Ref, ["b"] = b.Ref }, global, transfer: transfer));

        coordinator.Tell(StartRun.Instance);
        var request = a.ExpectMsg<TrainRoundByRef>(Timeout);
        var requestB = b.ExpectMsg<TrainRoundByRef>(Timeout);
        Assert.Equal(global.ContentHash, (await transfer.FetchAsync(request.Global, Timeout)).ContentHash);

        // a's weights were never offered (its node is gone, say); b uploads the global itself, which is offered.
        coordinator.Tell(new LocalUpdateByRef(1, "a", request.Global with { ContentHash = "not-offered" }, 10, 0.5, 1, 0.1) { RequestToken = request.RequestToken }, a.Ref);
        coordinator.Tell(new LocalUpdateByRef(1, "b", request.Global, 10, 0.5, 1, 0.1) { RequestToken = requestB.RequestToken }, b.Ref);

        // Not a's fault: it is asked again rather than rejected, and dropped only when the timeout passes.
        Assert.Equal(1, a.ExpectMsg<TrainRoundByRef>(Timeout).Round);
        var round = Assert.Single(FishForMessage<RunCompleted>(_ => true, Timeout).Rounds);
        Assert.Equal(["b"], round.Aggregated);
        Assert.Equal(["a"], round.Dropped);
        Assert.Empty(round.Rejected);
        Assert.Equal(global.PayloadBytes, round.BytesUp);
    }
}
