using FedActors.Training.Experiments;
using FedActors.Training.Methods;
using FedActors.Training.Methods.Fcl;
using FedActors.Training.Objectives;
using FedActors.Training.Weights;

namespace FedActors.Tests.Training.Methods;

public sealed class FclSpecs
{
    private static readonly FederatedExperiment Experiment = new(TinyExperiment.Volumetric());
    private static readonly FclOptions Options = new() { LocalBankSize = 20, Negatives = 12, ExchangeSize = 6 };
    private static readonly FclMethod Method = new(Experiment, Options);

    private static FclClient Client(int site = 0) => (FclClient)Method.CreateClient(Experiment.Sites.Sites[site].HospitalId);

    private static FeaturesPayload Features(string site, int rows, int dim = 16, int partition = 0, float value = 0.25f) =>
        new(Enumerable.Repeat(value, rows * dim).ToArray(), dim, Enumerable.Repeat(partition, rows).ToArray(), site);

    private static ClientContribution Upload(string site, FeaturesPayload features) =>
        new(site, Experiment.InitialGlobal(), 10, MethodPayloads.Of((FclClient.FeaturesPayload, features)));

    [Fact]
    public void Should_slice_volumes_into_partition_tagged_shards_with_label_maps()
    {
        var site = Experiment.Sites.Sites[0];

        // 2 volumes of 8 slices, 4 partitions: slices 0-1 → 0, 2-3 → 1, …; every slice keeps its mask.
        Assert.Equal(16, site.Train.Count);
        Assert.Equal([0, 0, 1, 1, 2, 2, 3, 3, 0, 0, 1, 1, 2, 2, 3, 3], site.Train.Labels);
        Assert.Equal(16 * 32 * 32, site.Slices!.Masks!.Length);
        Assert.Equal(3, Experiment.Sites.HeldOut!.Test.VolumeOf.Distinct().Count());
        Assert.Equal(4, Experiment.Sites.Classes);
    }

    [Fact]
    public void Should_keep_the_local_bank_and_the_negatives_within_their_bounds()
    {
        using var client = Client();
        client.ReceiveBroadcast(2, MethodPayloads.Of(("features/b", Features("b", 6, partition: 1)), ("features/c", Features("c", 6, partition: 2))));
        client.LoadGlobal(Experiment.InitialGlobal());
        Assert.Equal(12, client.Learner.RemoteCount);

        client.Train(Experiment.Sites.Sites[0].Train); // 2 steps of 8 keys
        client.Train(Experiment.Sites.Sites[0].Train); // 2 more: 32 keys into a bank of 20

        Assert.Equal(20, client.Learner.LocalBankCount);
        // Q′ is drawn from 20 bank + 12 remote rows, capped at 12.
        Assert.Equal(12, client.Learner.LastNegativeCount);

        // A new broadcast replaces the remote features; none is none.
        client.ReceiveBroadcast(3, MethodPayloads.Empty);
        Assert.Equal(0, client.Learner.RemoteCount);
    }

    [Fact]
    public void Should_upload_only_partition_tagged_momentum_features_never_images()
    {
        using var client = Client();
        var shard = Experiment.Sites.Sites[0].Train;
        client.LoadGlobal(Experiment.InitialGlobal());
        client.Train(shard);

        var upload = client.CollectUpload(1, shard);

        var features = Assert.Single(upload.Parts).Value as FeaturesPayload;
        Assert.NotNull(features);
        Assert.Equal(6, features.Count);                        // the exchange size, of 16 slices
        Assert.Equal(Experiment.Settings.ProjectionDim, features.Dimension);
        Assert.NotEqual(shard.PixelsPerImage, features.Dimension);
        Assert.All(features.Partitions, p => Assert.InRange(p, 0, 3));
        // Each row is an L2-normalised projection, not pixels.
        for (var r = 0; r < features.Count; r++)
            Assert.Equal(1, Math.Sqrt(features.Values.Skip(r * features.Dimension).Take(features.Dimension).Sum(v => (double)v * v)), 4);
        Assert.Equal(6 * 16 * sizeof(float) + 6 * sizeof(int), upload.Bytes);
    }

    [Fact]
    public void Should_refuse_remote_features_of_another_width_naming_the_broadcast()
    {
        using var client = Client();
        var e = Assert.Throws<InvalidDataException>(() => client.ReceiveBroadcast(4, MethodPayloads.Of(("features/b", Features("b", 2, dim: 8)))));
        Assert.Contains("round 4's broadcast to hospital-01", e.Message);
    }

    [Fact]
    public void Should_continue_bit_identically_with_its_bank_after_a_save_and_load()
    {
        var shard = Experiment.Sites.Sites[0].Train;
        using var a = Client();
        a.LoadGlobal(Experiment.InitialGlobal());
        a.Train(shard);
        using var state = new MemoryStream();
        a.SaveState(state);

        using var b = Client();
        b.LoadState(new MemoryStream(state.ToArray()), "snapshot of hospital-01");
        Assert.Equal(a.Learner.LocalBankCount, b.Learner.LocalBankCount);
        foreach (var c in new[] { a, b })
        {
            c.LoadGlobal(Experiment.InitialGlobal());
            c.Train(shard);
        }
        Assert.Equal(a.ExportWeights().ContentHash, b.ExportWeights().ContentHash);
        Assert.Equal(a.CollectUpload(2, shard).Get<FeaturesPayload>(FclClient.FeaturesPayload, "a").Values,
            b.CollectUpload(2, shard).Get<FeaturesPayload>(FclClient.FeaturesPayload, "b").Values);
    }

    [Fact]
    public void Should_forward_each_hospital_the_other_sites_latest_features_and_keep_them_across_a_restore()
    {
        var server = Method.CreateServer();
        Assert.True(server.Broadcast(1, "a").IsEmpty);
        server.Aggregate(1, Experiment.InitialGlobal(), [Upload("a", Features("a", 2)), Upload("b", Features("b", 3)), Upload("c", Features("c", 4))]);

        var toA = server.Broadcast(2, "a");
        Assert.Equal(["features/b", "features/c"], toA.Names);
        Assert.Equal(Features("b", 3).Bytes + Features("c", 4).Bytes, toA.Bytes);

        // Round 2: only b uploads; its new features replace its old ones, c's stay.
        server.Aggregate(2, Experiment.InitialGlobal(), [Upload("b", Features("b", 5, value: 0.5f))]);
        var restored = Method.CreateServer();
        restored.LoadState(server.SaveState(), "checkpoint");
        foreach (var s in new[] { server, restored })
        {
            var toC = s.Broadcast(3, "c");
            Assert.Equal(["features/a", "features/b"], toC.Names);
            Assert.Equal(5, toC.Get<FeaturesPayload>("features/b", "spec").Count);
            Assert.Equal(0.5f, toC.Get<FeaturesPayload>("features/b", "spec").Values[0]);
        }
        Assert.Throws<InvalidDataException>(() => Method.CreateServer().LoadState(new FederatedAveragingServer().SaveState().Concat(new byte[] { 1 }).ToArray(), "checkpoint"));
    }

    [Fact]
    public void Should_reject_uploads_whose_features_break_the_exchange_rules()
    {
        var server = Method.CreateServer();
        Assert.Null(server.Check(1, Upload("a", Features("a", 6))));
        Assert.Contains("7 feature rows", server.Check(1, Upload("a", Features("a", 7))));
        Assert.Contains("width 8", server.Check(1, Upload("a", Features("a", 2, dim: 8))));
        Assert.Contains("site 'b'", server.Check(1, Upload("a", Features("b", 2))));
        Assert.Contains("partition", server.Check(1, Upload("a", Features("a", 2, partition: 4))));
        Assert.Contains("no 'features'", server.Check(1, new ClientContribution("a", Experiment.InitialGlobal(), 10, MethodPayloads.Empty)));
    }

    [Fact]
    public void Should_continue_local_cl_bit_identically_after_a_save_and_load_key_encoder_included()
    {
        // Local CL loads the global once: from then on its key encoder follows its own query, so the key is state.
        var method = new LocalClMethod(Experiment, Options);
        var hospital = Experiment.Sites.Sites[0].HospitalId;
        var shard = Experiment.Sites.Sites[0].Train;
        using var a = method.CreateClient(hospital);
        a.LoadGlobal(Experiment.InitialGlobal());
        a.Train(shard);
        using var state = new MemoryStream();
        a.SaveState(state);

        using var b = method.CreateClient(hospital);
        b.LoadState(new MemoryStream(state.ToArray()), "snapshot of hospital-01");
        foreach (var c in new[] { a, b })
        {
            c.LoadGlobal(Experiment.InitialGlobal());
            c.Train(shard);
        }

        Assert.Equal(a.ExportWeights().ContentHash, b.ExportWeights().ContentHash);
        using var after = new MemoryStream();
        a.SaveState(after);
        using var afterB = new MemoryStream();
        b.SaveState(afterB);
        Assert.Equal(after.ToArray(), afterB.ToArray());
    }

    [Fact]
    public void Should_take_the_global_only_before_its_first_training_in_local_cl()
    {
        using var client = new LocalOnlyClient(new FedActors.Tests.Actors.DriftLearner(7, "hospital-001"));
        var start = FedActors.Tests.Actors.DriftLearner.InitialGlobal();
        client.LoadGlobal(start);
        Assert.Equal(start.ContentHash, client.ExportWeights().ContentHash);
        client.Train(new FedActors.Training.Data.ImageShard(1, 1, new byte[16], new int[16]));
        var own = client.ExportWeights();

        client.LoadGlobal(Experiment.InitialGlobal());

        Assert.Equal(own.ContentHash, client.ExportWeights().ContentHash);
    }

    [Fact]
    public void Should_keep_each_hospitals_latest_model_across_a_restore()
    {
        var server = new LocalModelsServer(LocalClMethod.MethodName);
        var first = Experiment.InitialGlobal();
        var second = new ModelWeights(first.Tensors.Select(t => t with { Values = t.Values.Select(v => v + 1).ToArray() }).ToList());
        server.Aggregate(1, first, [new ClientContribution("a", first, 4, MethodPayloads.Empty), new ClientContribution("b", first, 4, MethodPayloads.Empty)]);
        server.Aggregate(2, first, [new ClientContribution("b", second, 4, MethodPayloads.Empty)]);

        var restored = new LocalModelsServer(LocalClMethod.MethodName);
        restored.LoadState(server.SaveState(), "checkpoint");

        foreach (var s in new[] { server, restored })
        {
            Assert.Equal(first.ContentHash, s.LocalModels["a"].ContentHash);
            Assert.Equal(second.ContentHash, s.LocalModels["b"].ContentHash);
        }
    }
}
