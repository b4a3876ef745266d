using Akka.Actor;
using FedActors.Actors.Coordination;
using FedActors.Actors.Hospitals;
using FedActors.Actors.Protocol;
using FedActors.Actors.Transfer;
using FedActors.Training.Weights;
using Xunit.Abstractions;

namespace FedActors.Tests.Actors;

/// <summary>
/// Issue 25's forged updates: a stranger who sees every round's requests go by (but not their tokens) sends, before each
/// honest answer, updates naming hospital-000 and -001 with samples = int.MaxValue and weights × 1e30. The coordinator
/// ignores them, and the run ends with the clean run's model, byte for byte.
/// </summary>
public sealed class ForgedUpdateSpecs(ITestOutputHelper output) : ActorSpec(2, output)
{
    private const int Rounds = 3;

    /// <summary>
    /// Stands before a hospital: on each request it first has <c>stranger</c> send the coordinator forgeries naming
    /// <c>victims</c> (for the request's round, with a made-up token), then hands the request on as it came.
    /// </summary>
    private sealed class Forger : ReceiveActor
    {
        public Forger(IActorRef hospital, IActorRef transfer, IActorRef stranger, string[] victims)
        {
            ReceiveAsync<TrainRoundByRef>(async request =>
            {
                var coordinator = Sender;
                var global = await transfer.FetchAsync(request.Global, TimeSpan.FromMinutes(1));
                var huge = new ModelWeights(global.Tensors.Select(t => t with { Values = t.Values.Select(v => (v + 1) * 1e30f).ToArray() }).ToList());
                var offered = await transfer.Ask<WeightsRef>(new OfferWeights(huge), TimeSpan.FromMinutes(1));
                foreach (var victim in victims)
                    coordinator.Tell(new LocalUpdateByRef(request.Round, victim, offered, int.MaxValue, 0, 1, 0) { RequestToken = 0xDEADBEEF }, stranger);
                hospital.Tell(request, coordinator);
            });
        }
    }

    private ModelWeights Run(bool forged)
    {
        var stranger = CreateTestProbe();
        var definitions = DriftLearner.Hospitals(4);
        var hospitals = definitions.ToDictionary(h => h.HospitalId, h =>
        {
            var hospital = Sys.ActorOf(HospitalActor.Props(h, Transfer), $"{h.HospitalId}-{(forged ? "attacked" : "clean")}");
            return forged && h.HospitalId == "hospital-000"
                ? Sys.ActorOf(Akka.Actor.Props.Create(() => new Forger(hospital, Transfer, stranger.Ref, new[] { "hospital-000", "hospital-001" })))
                : hospital;
        });
        var coordinator = Sys.ActorOf(RoundCoordinator.Props(new CoordinatorSettings { Rounds = Rounds, MinParticipants = 4, Seed = 7, RoundTimeout = TimeSpan.FromMinutes(1) },
            hospitals, DriftLearner.InitialGlobal(), Transfer));
        var log = StartLoggedRun(coordinator);
        var completed = ExpectMsg<RunCompleted>(Dilated(TimeSpan.FromMinutes(1)));
        Assert.All(completed.Rounds, r =>
        {
            Assert.Equal(4, r.Aggregated.Count);
            Assert.Empty(r.Rejected);
            // hospital-000's forgery always comes before its answer (unexpected); hospital-001's may come after its answer (a duplicate).
            Assert.Equal(forged ? 2 : 0, r.UnexpectedReplies + r.DuplicateReplies);
        });
        if (forged)
            Assert.Equal(Rounds, log.Of(RunEventKinds.Unexpected).Count(e => e.HospitalId == "hospital-000" && e.Reason.Contains("request token does not match", StringComparison.Ordinal)));
        return completed.FinalGlobal;
    }

    [Fact]
    public void Should_refuse_forged_updates_naming_hospitals_and_end_with_the_clean_runs_model()
    {
        var clean = Run(forged: false);
        var attacked = Run(forged: true);
        Assert.Equal(clean.ContentHash, attacked.ContentHash);
        Assert.Equal(clean["w"].Values, attacked["w"].Values);
    }
}
