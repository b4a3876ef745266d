using FedActors.Actors.Coordination;
using FedActors.Actors.Protocol;
using FedActors.Actors.Rounds;
using FedActors.Training.Methods;
using FedActors.Training.Weights;

namespace FedActors.Tests.Actors.Rounds;

/// <summary>
/// The engine's acceptance rules for an update's origin and size: bound to the request it answers (its token), its sample
/// count capped at the hospital's shard, and its change from the global bounded relative to the round's median change.
/// Each driven by hand, one round, every hospital asked.
/// </summary>
public sealed class UpdateAcceptanceSpecs
{
    private static readonly ModelWeights Zero = new([new WeightTensor("w", [2], [0f, 0f])]);

    private static ModelWeights Vector(float x, float y) => new([new WeightTensor("w", [2], [x, y])]);

    /// <summary>One round over <paramref name="hospitals"/>; its requests (by hospital) once started.</summary>
    private static (RoundEngine Engine, Dictionary<string, SendRequest> Requests) Open(CoordinatorSettings settings, params string[] hospitals)
    {
        var engine = new RoundEngine(settings with { Rounds = 1, Seed = 11 }, hospitals, Zero, wallSeconds: () => 0);
        var requests = engine.Handle(new RunStartRequested()).OfType<SendRequest>().ToDictionary(r => r.HospitalId);
        Assert.Equal(hospitals.Order(), requests.Keys.Order());
        return (engine, requests);
    }

    private static UpdateArrived Answer(SendRequest request, ModelWeights weights, int samples = 10) =>
        new UpdateArrived(request.Round, request.HospitalId, weights, samples, 0.5, 1, 0, MethodPayloads.Empty) { RequestToken = request.RequestToken };

    private static List<RoundDecision> Feed(RoundEngine engine, params UpdateArrived[] updates) => updates.SelectMany(engine.Handle).ToList();

    private static RoundSummary Summary(IEnumerable<RoundDecision> decisions) => Assert.Single(decisions.OfType<CloseRound>()).Summary;

    private static RunEvent EventOf(IEnumerable<RoundDecision> decisions, string kind, string hospitalId) =>
        Assert.Single(decisions.OfType<PublishEvent>().Select(e => e.Event), e => e.Kind == kind && e.HospitalId == hospitalId);

    [Fact]
    public void Should_give_each_request_its_own_nonzero_token_the_same_on_a_resend()
    {
        var (engine, requests) = Open(new CoordinatorSettings(), "a", "b");
        Assert.All(requests.Values, r => Assert.NotEqual(0UL, r.RequestToken));
        Assert.NotEqual(requests["a"].RequestToken, requests["b"].RequestToken);
        var resent = engine.Handle(new ResendDue(1)).OfType<SendRequest>().ToDictionary(r => r.HospitalId);
        Assert.Equal(requests["a"].RequestToken, resent["a"].RequestToken);
        // Another key (another coordinator incarnation), other tokens.
        var other = new RoundEngine(new CoordinatorSettings { Rounds = 1, Seed = 11 }, ["a", "b"], Zero, wallSeconds: () => 0, requestKey: [1, 2, 3])
            .Handle(new RunStartRequested()).OfType<SendRequest>().ToDictionary(r => r.HospitalId);
        Assert.NotEqual(requests["a"].RequestToken, other["a"].RequestToken);
    }

    [Fact]
    public void Should_ignore_an_update_without_its_requests_token_and_still_accept_the_hospitals_own_answer()
    {
        var (engine, requests) = Open(new CoordinatorSettings(), "hospital-01", "hospital-02");
        var forged = Answer(requests["hospital-01"], Vector(1e30f, 1e30f), samples: int.MaxValue) with { RequestToken = 0 };
        var guessed = Answer(requests["hospital-02"], Vector(1e30f, 1e30f), samples: int.MaxValue) with { RequestToken = requests["hospital-01"].RequestToken };
        var decisions = Feed(engine, forged, guessed, Answer(requests["hospital-01"], Vector(1, 2), 10), Answer(requests["hospital-02"], Vector(3, 4), 30));

        var round = Summary(decisions);
        Assert.Equal(["hospital-01", "hospital-02"], round.Aggregated);
        Assert.Empty(round.Rejected);
        Assert.Equal(2, round.UnexpectedReplies);
        // (10·(1,2) + 30·(3,4)) / 40
        Assert.Equal([2.5f, 3.5f], Assert.Single(decisions.OfType<CloseRound>()).Global["w"].Values);
        Assert.Contains("request token does not match", EventOf(decisions, RunEventKinds.Unexpected, "hospital-01").Reason);
        Assert.Contains("request token does not match", EventOf(decisions, RunEventKinds.Unexpected, "hospital-02").Reason);
    }

    [Fact]
    public void Should_ignore_an_announcement_without_its_requests_token_without_fetching_it()
    {
        var (engine, requests) = Open(new CoordinatorSettings(), "a");
        var forged = engine.Handle(new UpdateAnnounced(1, "a", "hash-forged", 100) { RequestToken = requests["a"].RequestToken + 1 });
        Assert.Contains(forged, d => d is IgnoreUpdate { HospitalId: "a", ContentHash: "hash-forged" });
        Assert.DoesNotContain(forged, d => d is FetchUpdate);
        var own = engine.Handle(new UpdateAnnounced(1, "a", "hash-own", 100) { RequestToken = requests["a"].RequestToken });
        Assert.Contains(own, d => d is FetchUpdate { HospitalId: "a", ContentHash: "hash-own" });
    }

    [Fact]
    public void Should_reject_an_update_claiming_more_samples_than_its_hospitals_shard_naming_hospital_and_both_counts()
    {
        var (engine, requests) = Open(new CoordinatorSettings { ShardSizes = new Dictionary<string, int> { ["a"] = 20, ["b"] = 20 } }, "a", "b");
        var decisions = Feed(engine, Answer(requests["a"], Vector(1, 1), samples: 21), Answer(requests["b"], Vector(2, 2), samples: 20));

        var round = Summary(decisions);
        Assert.Equal(["a"], round.Rejected);
        Assert.Equal(["b"], round.Aggregated);
        Assert.Equal("hospital a claims 21 samples, but its shard holds 20", EventOf(decisions, RunEventKinds.Rejected, "a").Reason);
    }

    // Changes from the (zero) global of norms 3, 4, 5, 5 and 100: the median is 5.
    private static readonly (string Id, ModelWeights Weights)[] Norms =
        [("a", Vector(3, 0)), ("b", Vector(0, 4)), ("c", Vector(3, 4)), ("d", Vector(4, 3)), ("e", Vector(60, 80))];

    private static List<RoundDecision> RunNorms(UpdateNormBound bound)
    {
        var (engine, requests) = Open(new CoordinatorSettings { UpdateNorm = bound }, Norms.Select(n => n.Id).ToArray());
        return Feed(engine, Norms.Select(n => Answer(requests[n.Id], n.Weights)).ToArray());
    }

    [Fact]
    public void Should_reject_by_default_an_update_whose_change_exceeds_ten_times_the_rounds_median()
    {
        var decisions = RunNorms(UpdateNormBound.Default);
        var round = Summary(decisions);
        Assert.Equal(["e"], round.Rejected);
        Assert.Equal(["a", "b", "c", "d"], round.Aggregated);
        Assert.Equal("update norm 100 (its change from the global) exceeds 10 × the round's median of 5", EventOf(decisions, RunEventKinds.Rejected, "e").Reason);
        // With a factor of 20 the bound is 100, which e's change does not exceed.
        Assert.Equal(["a", "b", "c", "d", "e"], Summary(RunNorms(new UpdateNormBound(UpdateNormMode.Reject, 20))).Aggregated);
    }

    [Fact]
    public void Should_clip_an_oversized_change_to_the_bound_under_clip()
    {
        var decisions = RunNorms(new UpdateNormBound(UpdateNormMode.Clip, 10));
        var round = Summary(decisions);
        Assert.Equal(["a", "b", "c", "d", "e"], round.Aggregated);
        // e's (60, 80) clipped to norm 50: (30, 40); the equal-sample mean of (3,0), (0,4), (3,4), (4,3), (30,40) is (8, 10.2).
        var global = Assert.Single(decisions.OfType<CloseRound>()).Global["w"].Values;
        Assert.Equal(8f, global[0], 5);
        Assert.Equal(10.2f, global[1], 5);
        Assert.Contains("clipped from norm 100 to 50", EventOf(decisions, RunEventKinds.Accepted, "e").Reason);
    }

    [Fact]
    public void Should_leave_every_update_as_it_is_with_the_bound_off()
    {
        var decisions = RunNorms(new UpdateNormBound(UpdateNormMode.Off));
        Assert.Equal(["a", "b", "c", "d", "e"], Summary(decisions).Aggregated);
        // (3+0+3+4+60)/5, (0+4+4+3+80)/5
        var global = Assert.Single(decisions.OfType<CloseRound>()).Global["w"].Values;
        Assert.Equal(14f, global[0], 5);
        Assert.Equal(18.2f, global[1], 5);
    }

    [Fact]
    public void Should_refuse_a_robust_rule_for_a_method_that_aggregates_its_own_way_naming_key_and_method()
    {
        var settings = new CoordinatorSettings { Aggregation = new AggregationRule(AggregationKind.Median) };
        var e = Assert.Throws<ArgumentException>(() => new RoundEngine(settings, ["a"], Zero, new OwnWayServer()));
        Assert.Contains("fedactors.rounds.aggregation = median", e.Message);
        Assert.Contains("method 'own-way'", e.Message);
        _ = new RoundEngine(settings, ["a"], Zero, new FederatedAveragingServer("fedsimclr")); // a weighted mean: fine
    }

    private sealed class OwnWayServer : IFederatedServer
    {
        public string Method => "own-way";
        public MethodPayloads Broadcast(int round, string hospitalId) => MethodPayloads.Empty;
        public string? Check(int round, ClientContribution upload) => null;
        public ServerAggregate Aggregate(int round, ModelWeights previousGlobal, IReadOnlyList<ClientContribution> accepted) =>
            FederatedAveragingServer.Weighted(accepted, accepted.Select(_ => 1.0).ToList());
        public byte[] SaveState() => [];
        public void LoadState(byte[] state, string source) { }
    }
}
