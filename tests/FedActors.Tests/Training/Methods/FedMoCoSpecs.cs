using FedActors.Training.Data;
using FedActors.Training.Experiments;
using FedActors.Training.Methods;
using FedActors.Training.Methods.FedMoCo;
using FedActors.Training.Objectives;
using FedActors.Training.Weights;

namespace FedActors.Tests.Training.Methods;

public sealed class FedMoCoSpecs
{
    private static readonly ModelWeights Zero = new([new WeightTensor("w", [2], [0, 0])]);

    private static ClientContribution Upload(string id, int samples, float value, params (string, Payload)[] extras) =>
        new(id, new ModelWeights([new WeightTensor("w", [2], [value, -value])]), samples, MethodPayloads.Of(extras));

    private static (string, Payload) Rho(double rho) => (FedMoCoClient.RhoPayload, new ScalarPayload(rho));

    private static (string, Payload) Stats(string site, double mean, double std) =>
        (FedMoCoClient.StatisticsPayload, new StatisticsPayload([new SiteStatistics(site, mean, std)]));

    [Fact]
    public void Should_aggregate_with_samples_times_positive_rho()
    {
        var server = new FedMoCoServer(new FedMoCoOptions());
        var result = server.Aggregate(1, Zero, [Upload("a", 10, 1, Rho(0.5)), Upload("b", 20, 2, Rho(-0.2)), Upload("c", 30, 4, Rho(1.0))]);

        Assert.Equal(5 / 35.0, result.ClientWeights["a"], 12);
        Assert.Equal(0, result.ClientWeights["b"]);
        Assert.Equal(30 / 35.0, result.ClientWeights["c"], 12);
        Assert.Equal((float)(5 / 35.0 * 1 + 30 / 35.0 * 4), result.Global["w"].Values[0], 6);
    }

    [Fact]
    public void Should_weigh_by_samples_alone_with_rsa_off_or_no_positive_rho()
    {
        var off = new FedMoCoServer(new FedMoCoOptions { RsaAggregation = false }).Aggregate(1, Zero, [Upload("a", 10, 1), Upload("b", 30, 2)]);
        var fallback = new FedMoCoServer(new FedMoCoOptions()).Aggregate(1, Zero, [Upload("a", 10, 1, Rho(-0.1)), Upload("b", 30, 2, Rho(0))]);

        Assert.Equal(0.25, off.ClientWeights["a"], 12);
        Assert.Equal(0.25, fallback.ClientWeights["a"], 12);
        Assert.Equal(off.Global.ContentHash, fallback.Global.ContentHash);
    }

    [Fact]
    public void Should_broadcast_the_statistics_of_every_site_that_uploaded_them_from_the_next_round_and_keep_them_in_its_state()
    {
        var server = new FedMoCoServer(new FedMoCoOptions());
        Assert.True(server.Broadcast(1, "hospital-01").IsEmpty);
        server.Aggregate(1, Zero, [Upload("b", 10, 1, Rho(1), Stats("b", 0.4, 0.2)), Upload("a", 10, 1, Rho(1), Stats("a", 0.6, 0.1))]);

        var sent = server.Broadcast(2, "hospital-01").Get<StatisticsPayload>(FedMoCoClient.StatisticsPayload, "spec");
        Assert.Equal(["a", "b"], sent.Sites.Select(s => s.SiteId));
        Assert.Equal(0.6, sent.Sites[0].Mean);

        var restored = new FedMoCoServer(new FedMoCoOptions());
        restored.LoadState(server.SaveState(), "spec checkpoint");
        Assert.Equal(sent.Sites, restored.Broadcast(2, "hospital-01").Get<StatisticsPayload>(FedMoCoClient.StatisticsPayload, "spec").Sites);
        Assert.True(new FedMoCoServer(new FedMoCoOptions { MetadataTransfer = false }).Broadcast(2, "hospital-01").IsEmpty);
    }

    [Fact]
    public void Should_refuse_uploads_whose_extras_it_cannot_use()
    {
        var server = new FedMoCoServer(new FedMoCoOptions());

        Assert.Null(server.Check(1, Upload("a", 10, 1, Rho(0.3), Stats("a", 0.5, 0.1))));
        Assert.Contains("no 'rsa-rho'", server.Check(1, Upload("a", 10, 1)));
        Assert.Contains("not a correlation", server.Check(1, Upload("a", 10, 1, Rho(1.5))));
        Assert.Contains("uploading site 'a' alone", server.Check(1, Upload("a", 10, 1, Rho(0.3), Stats("b", 0.5, 0.1))));
        Assert.Null(new FedMoCoServer(new FedMoCoOptions { RsaAggregation = false }).Check(1, Upload("a", 10, 1)));
        Assert.Throws<InvalidDataException>(() => server.LoadState([1, 2, 3], "bad checkpoint"));
    }

    private static readonly FederatedExperiment Experiment = new(TinyExperiment.Settings(hospitals: 3));

    private static FedMoCoClient Client(string id, FedMoCoOptions options) =>
        (FedMoCoClient)new FedMoCoMethod(Experiment, options).CreateClient(id);

    [Fact]
    public void Should_train_exactly_like_plain_moco_with_both_modules_off()
    {
        var site = Experiment.Sites.Sites[0];
        var global = Experiment.InitialGlobal();
        using var plain = new FedMoCoPlainMethod(Experiment).CreateClient(site.HospitalId);
        using var client = Client(site.HospitalId, new FedMoCoOptions { MetadataTransfer = false, RsaAggregation = false });

        plain.LoadGlobal(global);
        plain.Train(site.Train);
        client.ReceiveBroadcast(1, MethodPayloads.Empty);
        client.LoadGlobal(global);
        client.Train(site.Train);

        Assert.Equal(plain.ExportWeights().ContentHash, client.ExportWeights().ContentHash);
        Assert.True(client.CollectUpload(1, site.Train).IsEmpty);
    }

    [Fact]
    public void Should_upload_its_statistics_until_the_broadcast_lists_them_and_a_rho_every_round()
    {
        var site = Experiment.Sites.Sites[1];
        var other = new SiteStatistics("elsewhere", 0.7, 0.05);
        using var client = Client(site.HospitalId, new FedMoCoOptions());
        client.ReceiveBroadcast(1, MethodPayloads.Empty);
        client.LoadGlobal(Experiment.InitialGlobal());
        client.Train(site.Train);

        var first = client.CollectUpload(1, site.Train);
        var own = first.Get<StatisticsPayload>(FedMoCoClient.StatisticsPayload, "spec").Sites.Single();
        Assert.Equal(SiteStatistics.Of(site.HospitalId, site.Train), own);
        var rho = first.Get<ScalarPayload>(FedMoCoClient.RhoPayload, "spec").Value;
        Assert.InRange(rho, -1, 1);
        Assert.True(rho < 1, "a model that trained should not have exactly the global's representation");

        // Round 2: the server lists it (and another site), so only ρ goes up; views are re-standardised to the other site.
        client.ReceiveBroadcast(2, MethodPayloads.Of((FedMoCoClient.StatisticsPayload, new StatisticsPayload([own, other]))));
        client.LoadGlobal(client.ExportWeights());
        client.Train(site.Train);
        Assert.NotNull(client.Learner.Restandardisation);
        Assert.Equal([FedMoCoClient.RhoPayload], client.CollectUpload(2, site.Train).Names);
    }
}
