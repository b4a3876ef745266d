using FedActors.Training.Data;
using FedActors.Training.Experiments;
using FedActors.Training.Methods;
using FedActors.Training.Methods.Fcl;
using FedActors.Training.Objectives;
using FedActors.Training.Weights;

namespace FedActors.Tests.Training.Methods;

public sealed class FclOptSpecs
{
    private static readonly FederatedExperiment Experiment = new(TinyExperiment.Volumetric(hospitals: 2));
    private static ImageShard Shard => Experiment.Sites.Sites[0].Train;
    private static string Hospital => Experiment.Sites.Sites[0].HospitalId;

    private static FclOptClient Client(FclOptOptions options) => (FclOptClient)new FclOptMethod(Experiment, options).CreateClient(Hospital);

    private static ModelWeights Scaled(ModelWeights w, float factor) =>
        new(w.Tensors.Select(t => t with { Values = t.Values.Select(v => v * factor).ToArray() }).ToList());

    [Fact]
    public void Should_predict_the_target_by_the_ema_rule_instead_of_downloading_it()
    {
        var method = new FclOptMethod(Experiment, new FclOptOptions { Ptnu = true, RoundMomentum = 0.75 });
        using var client = (FclOptClient)method.CreateClient(Hospital);
        var first = method.InitialGlobal();
        client.ReceiveBroadcast(1, MethodPayloads.Empty);
        client.LoadGlobal(first);
        // Its first round: the global encoder itself.
        Assert.Equal(first.Submodule(ByolModel.Encoder).ContentHash, client.Learner.TargetWeights().ContentHash);
        client.Train(Shard);
        var previous = client.Learner.TargetWeights();
        var second = client.ExportWeights(); // a global the client has not seen as its own target

        client.LoadGlobal(second);

        // ξ̂ = 0.75·ξ_prev + 0.25·θ_g, value by value.
        var predicted = client.Learner.TargetWeights();
        var encoder = second.Submodule(ByolModel.Encoder);
        foreach (var t in predicted.Tensors.Where(t => !t.Name.EndsWith("num_batches_tracked", StringComparison.Ordinal)))
            for (var k = 0; k < t.Values.Length; k += 7)
                Assert.Equal(0.75 * previous[t.Name].Values[k] + 0.25 * encoder[t.Name].Values[k], t.Values[k], 5);
    }

    [Fact]
    public void Should_take_the_downloaded_target_without_ptnu_and_say_so_when_none_came()
    {
        using var client = Client(new FclOptOptions());
        var global = new FclOptMethod(Experiment, new FclOptOptions()).InitialGlobal();
        var target = Scaled(global.Submodule(ByolModel.Encoder), 0.5f);
        client.ReceiveBroadcast(1, MethodPayloads.Of((FclOptClient.TargetPayload, new TargetWeightsPayload(target))));
        client.LoadGlobal(global);
        Assert.Equal(target.ContentHash, client.Learner.TargetWeights().ContentHash);

        client.ReceiveBroadcast(2, MethodPayloads.Empty);
        Assert.Contains("needs the global target", Assert.Throws<InvalidDataException>(() => client.LoadGlobal(global)).Message);
    }

    [Theory]
    [InlineData(1.00f, false)] // distance 0
    [InlineData(1.02f, false)] // 0.02 / 1.02 = 0.0196 ≤ δ = 0.05
    [InlineData(1.10f, true)]  // 0.10 / 1.10 = 0.0909 > δ
    [InlineData(0.90f, true)]  // 0.10 / 0.90 = 0.111 > δ
    public void Should_upload_the_target_exactly_when_its_distance_from_the_last_upload_exceeds_delta(float lastScale, bool sends)
    {
        using var client = Client(new FclOptOptions { Ptnu = true, Dp = true, Delta = 0.05 });
        client.ReceiveBroadcast(1, MethodPayloads.Empty);
        client.LoadGlobal(new FclOptMethod(Experiment, new FclOptOptions()).InitialGlobal());
        client.Train(Shard);
        // Never uploaded: it always sends.
        var first = client.CollectUpload(1, Shard);
        Assert.Equal(client.Learner.TargetWeights().ContentHash, first.Get<TargetWeightsPayload>(FclOptClient.TargetPayload, "spec").Weights.ContentHash);

        var target = client.Learner.TargetWeights();
        client.Learner.LastUploadedTarget = Scaled(target, lastScale);
        var upload = client.CollectUpload(2, Shard);

        Assert.Equal(Math.Abs(1 - lastScale) / lastScale, client.LastDistance, 4);
        Assert.Equal(sends, !upload.IsEmpty);
        Assert.Equal(sends ? target.ContentHash : Scaled(target, lastScale).ContentHash, client.Learner.LastUploadedTarget!.ContentHash);
        if (sends) Assert.Equal(target.PayloadBytes, upload.Bytes);
    }

    [Fact]
    public void Should_average_the_targets_standing_in_the_last_upload_for_a_client_that_skipped()
    {
        var initial = new FclOptMethod(Experiment, new FclOptOptions()).InitialGlobal();
        var encoder = initial.Submodule(ByolModel.Encoder);
        var server = new FclOptServer(new FclOptOptions { Ptnu = true, Dp = true }, encoder);
        ClientContribution Up(string id, int samples, ModelWeights? target) => new(id, initial, samples,
            target is null ? MethodPayloads.Empty : MethodPayloads.Of((FclOptClient.TargetPayload, new TargetWeightsPayload(target))));

        Assert.True(server.Broadcast(1, "a").IsEmpty); // PTNU: nothing to download
        Assert.Contains("nothing to stand in", server.Check(1, Up("a", 1, null)));
        server.Aggregate(1, initial, [Up("a", 1, Scaled(encoder, 1)), Up("b", 3, Scaled(encoder, 2))]);
        // Round 2: a skips (DP), b sends 4·θ: ξ_g = (1·1 + 3·4)/4 · θ.
        Assert.Null(server.Check(2, Up("a", 1, null)));
        server.Aggregate(2, initial, [Up("a", 1, null), Up("b", 3, Scaled(encoder, 4))]);

        var restored = new FclOptServer(new FclOptOptions { Ptnu = true, Dp = true }, encoder);
        restored.LoadState(server.SaveState(), "checkpoint");
        foreach (var s in new[] { server, restored })
        {
            var name = encoder.Tensors.First(t => t.Name.EndsWith("weight", StringComparison.Ordinal)).Name;
            Assert.Equal(13f / 4 * encoder[name].Values[0], s.GlobalTarget[name].Values[0], 4);
        }
        Assert.Contains("every client uploads", new FclOptServer(new FclOptOptions(), encoder).Check(1, Up("a", 1, null)));
        var plain = new FclOptServer(new FclOptOptions(), encoder).Broadcast(1, "a");
        Assert.Equal(encoder.PayloadBytes, plain.BytesByKind()[PayloadKinds.TargetWeights]);
    }

    [Fact]
    public void Should_continue_bit_identically_with_its_targets_after_a_save_and_load()
    {
        var options = new FclOptOptions { Ptnu = true, Dp = true };
        var global = new FclOptMethod(Experiment, options).InitialGlobal();
        using var a = Client(options);
        a.ReceiveBroadcast(1, MethodPayloads.Empty);
        a.LoadGlobal(global);
        a.Train(Shard);
        a.CollectUpload(1, Shard);
        using var state = new MemoryStream();
        a.SaveState(state);
        using var b = Client(options);
        b.LoadState(new MemoryStream(state.ToArray()), "snapshot");

        foreach (var c in new[] { a, b })
        {
            c.ReceiveBroadcast(2, MethodPayloads.Empty);
            c.LoadGlobal(global);
            c.Train(Shard);
        }
        Assert.Equal(a.Learner.TargetWeights().ContentHash, b.Learner.TargetWeights().ContentHash);
        Assert.Equal(a.CollectUpload(2, Shard).IsEmpty, b.CollectUpload(2, Shard).IsEmpty);
        Assert.Equal(a.LastDistance, b.LastDistance);
    }
}
