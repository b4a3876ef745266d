using FedActors.Training.Methods;
using FedActors.Training.Methods.Fcl;
using FedActors.Training.Experiments;
using FedActors.Training.Objectives;
using FedActors.Training.Weights;

namespace FedActors.Tests.Training.Methods;

/// <summary>
/// FCLOpt's PTNU and DP exactly as ALGORITHMS.md §3 states them (issue 23), on weights whose every value is one
/// constant, so each prediction and distance can be computed by hand: ξ̂_t = m·ξ̂_{t−1} + (1 − m)·θ_g,t from the
/// client's own previous prediction (ξ̂ of its first round: that round's global encoder); DP uploads the trained
/// target only when ‖ξ̂_t − ξ_last uploaded‖ / ‖ξ_last uploaded‖ > δ, and the server, following the same rule,
/// stands its own prediction in for a target not uploaded.
/// </summary>
public sealed class FclOptProtocolSpecs
{
    private const string Hospital = "h";
    private static readonly FederatedExperiment Experiment = new(TinyExperiment.Volumetric(hospitals: 2));
    private static readonly ModelWeights Layout = new FclOptMethod(Experiment, new FclOptOptions()).InitialGlobal();

    /// <summary>The global online network (encoder and predictor) with every value <paramref name="c"/>.</summary>
    private static ModelWeights Global(float c) => new(Layout.Tensors.Select(t => t with { Values = Enumerable.Repeat(c, t.Values.Length).ToArray() }).ToList());

    private static ModelWeights Encoder(float c) => Global(c).Submodule(ByolModel.Encoder);

    private static FclOptClient Client(FclOptOptions options) =>
        (FclOptClient)new FclOptMethod(Experiment, options).CreateClient(Experiment.Sites.Sites[0].HospitalId);

    /// <summary>Every value of every tensor but the batch counters (integers on the network) is <paramref name="expected"/>.</summary>
    private static void AllEqual(double expected, ModelWeights weights)
    {
        foreach (var t in weights.Tensors.Where(t => !t.Name.EndsWith("num_batches_tracked", StringComparison.Ordinal)))
            Assert.All(t.Values, v => Assert.Equal(expected, v, 5));
    }

    /// <summary>The same values in every tensor but the batch counters (a network holds those as integers, so a weighted mean loses its fraction there).</summary>
    private static void Same(ModelWeights expected, ModelWeights actual)
    {
        static IEnumerable<WeightTensor> Real(ModelWeights w) => w.Tensors.Where(t => !t.Name.EndsWith("num_batches_tracked", StringComparison.Ordinal));
        Assert.Equal(Real(expected).Select(t => t.Name), Real(actual).Select(t => t.Name));
        foreach (var (e, a) in Real(expected).Zip(Real(actual))) Assert.Equal(e.Values, a.Values);
    }

    [Fact]
    public void Should_predict_the_target_from_its_own_last_prediction_not_from_its_trained_target()
    {
        using var client = Client(new FclOptOptions { Ptnu = true, RoundMomentum = 0.75 });

        client.ReceiveBroadcast(1, MethodPayloads.Empty);
        client.LoadGlobal(Global(0.01f));
        AllEqual(0.01, client.Learner.TargetWeights()); // ξ̂_1 = θ_g,1
        client.Learner.SetTarget(Encoder(0.5f));         // local training moves the target (EMA per step): not what PTNU predicts from

        client.ReceiveBroadcast(2, MethodPayloads.Empty);
        client.LoadGlobal(Global(0.03f));
        AllEqual(0.75 * 0.01 + 0.25 * 0.03, client.Learner.TargetWeights()); // ξ̂_2 = 0.015
        client.Learner.SetTarget(Encoder(-0.2f));

        client.ReceiveBroadcast(3, MethodPayloads.Empty);
        client.LoadGlobal(Global(0.05f));
        AllEqual(0.75 * 0.015 + 0.25 * 0.05, client.Learner.TargetWeights()); // ξ̂_3 = 0.02375
    }

    [Theory]
    // Round 1 uploads its trained target 1.02 (nothing uploaded before). Round 2's global b gives ξ̂_2 = 0.5·1 + 0.5·b;
    // the decision compares ξ̂_2 with 1.02, whatever round 2's training made of the target.
    [InlineData(1.00f, 2.00f, 0.02 / 1.02, false)]  // ξ̂_2 = 1: within δ although the trained target is far away
    [InlineData(1.30f, 1.02f, 0.13 / 1.02, true)]   // ξ̂_2 = 1.15: beyond δ although the trained target has not moved
    [InlineData(1.14f, 1.02f, 0.05 / 1.02, false)]  // ξ̂_2 = 1.07: 0.049 ≤ δ
    [InlineData(1.16f, 1.02f, 0.06 / 1.02, true)]   // ξ̂_2 = 1.08: 0.059 > δ
    public void Should_upload_exactly_when_the_prediction_is_further_than_delta_from_the_last_upload(float secondGlobal, float trained, double distance, bool uploads)
    {
        using var client = Client(new FclOptOptions { Ptnu = true, Dp = true, RoundMomentum = 0.5, Delta = 0.05 });
        client.ReceiveBroadcast(1, MethodPayloads.Empty);
        client.LoadGlobal(Global(1f));
        client.Learner.SetTarget(Encoder(1.02f));
        var first = client.CollectUpload(1, Experiment.Sites.Sites[0].Train);
        Same(Encoder(1.02f), first.Get<TargetWeightsPayload>(FclOptClient.TargetPayload, "spec").Weights);

        client.ReceiveBroadcast(2, MethodPayloads.Empty);
        client.LoadGlobal(Global(secondGlobal));
        client.Learner.SetTarget(Encoder(trained));
        var second = client.CollectUpload(2, Experiment.Sites.Sites[0].Train);

        Assert.Equal(distance, client.LastDistance, 4);
        Assert.Equal(uploads, !second.IsEmpty);
        if (uploads) Same(Encoder(trained), second.Get<TargetWeightsPayload>(FclOptClient.TargetPayload, "spec").Weights);
        // The next reference: what was uploaded last, the trained target of round 1 or of round 2.
        Same(Encoder(uploads ? trained : 1.02f), client.Learner.LastUploadedTarget!);
    }

    /// <summary>One client and the server over four rounds with DP: the globals, the targets training leaves, and what moved.</summary>
    private sealed class Federation : IDisposable
    {
        public readonly FclOptClient Client;
        public readonly FclOptServer Server;
        public readonly List<long> TargetBytesUp = [];
        public readonly List<long> TargetBytesDown = [];
        public readonly List<ModelWeights> ClientPredictions = [];
        public readonly List<ModelWeights?> ServerRecords = [];

        public Federation(FclOptOptions options)
        {
            Client = FclOptProtocolSpecs.Client(options);
            Server = new FclOptServer(options, Encoder(1f));
        }

        /// <summary>Round <paramref name="round"/> with global <paramref name="global"/>; training leaves the target at <paramref name="trained"/> and the online network at <paramref name="next"/>, the next global.</summary>
        public void Round(int round, float global, float trained, float next)
        {
            var broadcast = Server.Broadcast(round, Hospital);
            TargetBytesDown.Add(broadcast.BytesByKind().GetValueOrDefault(PayloadKinds.TargetWeights));
            Client.ReceiveBroadcast(round, broadcast);
            Client.LoadGlobal(Global(global));
            ClientPredictions.Add(Client.Learner.TargetWeights());
            Client.Learner.SetTarget(Encoder(trained));
            var upload = Client.CollectUpload(round, Experiment.Sites.Sites[0].Train);
            TargetBytesUp.Add(upload.BytesByKind().GetValueOrDefault(PayloadKinds.TargetWeights));
            var contribution = new ClientContribution(Hospital, Global(next), 10, upload);
            Assert.Null(Server.Check(round, contribution));
            Server.Aggregate(round, Global(global), [contribution]);
            ServerRecords.Add(Server.TargetOf(Hospital));
        }

        public void Dispose() => Client.Dispose();
    }

    [Fact]
    public void Should_stand_in_the_same_prediction_on_the_server_as_on_the_client_when_no_upload_came()
    {
        using var f = new Federation(new FclOptOptions { Ptnu = true, Dp = true, RoundMomentum = 0.5, Delta = 0.05 });
        f.Round(1, global: 1f, trained: 1.02f, next: 1f);    // uploads (first): ξ_last = 1.02
        f.Round(2, global: 1f, trained: 2f, next: 1.04f);    // ξ̂ = 1: skips
        f.Round(3, global: 1.04f, trained: 2f, next: 1.3f);  // ξ̂ = 1.02: skips
        f.Round(4, global: 1.3f, trained: 1.5f, next: 1.3f); // ξ̂ = 1.16: uploads 1.5

        AllEqual(1.0, f.ClientPredictions[1]);
        AllEqual(1.02, f.ClientPredictions[2]);
        AllEqual(1.16, f.ClientPredictions[3]);
        // Without an upload the server's record of the client's target is its own prediction, the client's exactly.
        Same(f.ClientPredictions[1], f.ServerRecords[1]!);
        Same(f.ClientPredictions[2], f.ServerRecords[2]!);
        // With one, the uploaded target.
        Same(Encoder(1.02f), f.ServerRecords[0]!);
        Same(Encoder(1.5f), f.ServerRecords[3]!);
    }

    [Fact]
    public void Should_reject_a_skipped_upload_that_the_servers_prediction_says_was_due()
    {
        var options = new FclOptOptions { Ptnu = true, Dp = true, RoundMomentum = 0.5, Delta = 0.05 };
        var server = new FclOptServer(options, Encoder(1f));
        var up = MethodPayloads.Of((FclOptClient.TargetPayload, new TargetWeightsPayload(Encoder(1.02f))));
        server.Broadcast(1, Hospital);
        Assert.Null(server.Check(1, new ClientContribution(Hospital, Global(2f), 10, up)));
        server.Aggregate(1, Global(1f), [new ClientContribution(Hospital, Global(2f), 10, up)]);

        server.Broadcast(2, Hospital); // ξ̂_2 = 0.5·1 + 0.5·2 = 1.5: 0.48 / 1.02 > δ, the client must upload
        Assert.Contains("prediction", server.Check(2, new ClientContribution(Hospital, Global(2f), 10, MethodPayloads.Empty)));
    }

    [Fact]
    public void Should_move_target_bytes_only_when_the_rules_say_so()
    {
        var targetBytes = Encoder(1f).PayloadBytes;
        using (var dp = new Federation(new FclOptOptions { Ptnu = true, Dp = true, RoundMomentum = 0.5, Delta = 0.05 }))
        {
            dp.Round(1, 1f, 1.02f, 1f);
            dp.Round(2, 1f, 2f, 1.04f);
            dp.Round(3, 1.04f, 2f, 1.3f);
            dp.Round(4, 1.3f, 1.5f, 1.3f);
            Assert.Equal([0L, 0, 0, 0], dp.TargetBytesDown);               // PTNU: nothing downloaded
            Assert.Equal([targetBytes, 0, 0, targetBytes], dp.TargetBytesUp); // DP: a skipped upload moves no target bytes
            Assert.Null(dp.Server.GlobalTarget);                            // and no one needs a global target
        }
        using (var ptnu = new Federation(new FclOptOptions { Ptnu = true, RoundMomentum = 0.5 }))
        {
            ptnu.Round(1, 1f, 1.02f, 1f);
            ptnu.Round(2, 1f, 2f, 1.04f);
            Assert.Equal([0L, 0], ptnu.TargetBytesDown);
            Assert.Equal([targetBytes, targetBytes], ptnu.TargetBytesUp);
            Assert.Null(ptnu.Server.GlobalTarget);
        }
        using (var plain = new Federation(new FclOptOptions()))
        {
            plain.Round(1, 1f, 1.02f, 1f);
            plain.Round(2, 1f, 2f, 1.04f);
            Assert.Equal([targetBytes, targetBytes], plain.TargetBytesDown); // the global target, every round
            Assert.Equal([targetBytes, targetBytes], plain.TargetBytesUp);
            AllEqual(2.0, plain.Server.GlobalTarget!);                          // the mean of the uploads (one client)
        }
    }

    [Fact]
    public void Should_continue_its_predictions_and_references_exactly_after_a_save_and_load_of_the_server()
    {
        var options = new FclOptOptions { Ptnu = true, Dp = true, RoundMomentum = 0.5, Delta = 0.05 };
        using var f = new Federation(options);
        f.Round(1, 1f, 1.02f, 1f);
        f.Round(2, 1f, 2f, 1.04f);
        var restored = new FclOptServer(options, Encoder(0f));
        restored.LoadState(f.Server.SaveState(), "checkpoint");

        foreach (var s in new[] { f.Server, restored })
        {
            s.Broadcast(3, Hospital); // ξ̂_3 = 0.5·1 + 0.5·1.04: within δ of 1.02, so a skip is accepted
            Assert.Null(s.Check(3, new ClientContribution(Hospital, Global(1f), 10, MethodPayloads.Empty)));
            AllEqual(1.02, s.PredictionFor(Hospital)!);
            Assert.Null(s.GlobalTarget);
        }
        Assert.Equal(f.Server.SaveState(), restored.SaveState());
    }
}
