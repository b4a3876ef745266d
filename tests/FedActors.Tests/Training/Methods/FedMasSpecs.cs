using FedActors.Training.Experiments;
using FedActors.Training.Methods;
using FedActors.Training.Objectives;
using FedActors.Training.Weights;

namespace FedActors.Tests.Training.Methods;

public sealed class FedMasSpecs : IDisposable
{
    private static readonly FederatedExperiment Experiment = new(TinyExperiment.Skewed(hospitals: 3));
    private readonly string _directory = Directory.CreateTempSubdirectory("fedactors-fedmas-").FullName;

    /// <summary>An auxiliary encoder file (a seeded network of the experiment's architecture) and its hash.</summary>
    private AuxiliaryEncoderFile AuxiliaryFile(ulong seed = 11)
    {
        using var network = FedActors.Training.TorchRuntime.Seeded(seed, Experiment.CreateNetwork);
        var weights = ModelWeights.FromModule(network);
        var path = Path.Combine(_directory, $"auxiliary-{seed}.weights");
        weights.Save(path);
        return new AuxiliaryEncoderFile(path, weights.ContentHash);
    }

    private ImbalancedClassificationMethod FedMas(AuxiliaryEncoderFile? file = null) =>
        ImbalancedClassificationMethod.Create(ImbalancedClassificationMethod.FedMas, Experiment, new ImbalancedClassifierOptions { BatchSize = 8 }, 0, file ?? AuxiliaryFile());

    [Fact]
    public void Should_give_every_hospital_the_same_auxiliary_encoder_and_never_change_it()
    {
        var file = AuxiliaryFile();
        var method = FedMas(file);
        var global = method.InitialGlobal();
        var hashes = new List<string>();
        foreach (var site in Experiment.Sites.Sites)
        {
            using var client = (ImbalancedClassifierLearner)method.CreateClient(site.HospitalId);
            Assert.Equal(file.ContentHash, client.AuxiliaryWeights()!.ContentHash);
            for (var round = 1; round <= 2; round++)
            {
                client.LoadGlobal(global);
                client.Train(site.Train);
            }
            // Two rounds of training moved the model, not the prior.
            Assert.NotEqual(global.ContentHash, client.ExportWeights().ContentHash);
            hashes.Add(client.AuxiliaryWeights()!.ContentHash);
        }
        Assert.All(hashes, h => Assert.Equal(file.ContentHash, h));
    }

    [Fact]
    public void Should_refuse_an_auxiliary_file_whose_hash_is_not_the_one_named()
    {
        var file = AuxiliaryFile();
        var other = AuxiliaryFile(seed: 12);
        var method = FedMas(file with { ContentHash = other.ContentHash });

        var error = Assert.Throws<InvalidDataException>(() => method.CreateClient("hospital-01"));

        Assert.Contains(file.Path, error.Message);
        Assert.Contains(other.ContentHash, error.Message);
    }

    [Fact]
    public void Should_upload_the_robust_factor_of_its_own_measurements_with_absent_classes_left_out()
    {
        var method = FedMas();
        // The smallest site lacks some of the rare classes under this skew.
        var site = Experiment.Sites.Sites[^1];
        var absent = Enumerable.Range(0, Experiment.Sites.Classes).Where(c => !site.Train.Labels.Contains(c)).ToList();
        Assert.NotEmpty(absent);
        using var client = (ImbalancedClassifierLearner)method.CreateClient(site.HospitalId);
        client.LoadGlobal(method.InitialGlobal());
        client.Train(site.Train);

        var upload = client.CollectUpload(1, site.Train);

        var (global, local) = client.LastMeasurements!.Value;
        Assert.All(absent, c => Assert.True(double.IsNaN(global[c]) && double.IsNaN(local[c])));
        Assert.All(Enumerable.Range(0, global.Length).Except(absent), c => Assert.InRange(global[c], 0, 4));
        var rf = upload.Get<ScalarPayload>(ImbalancedClassifierLearner.RobustFactorPayload, "spec").Value;
        Assert.Equal(RobustFactor.Compute(global, local), rf);
        Assert.InRange(rf, 1e-6, 1);
    }

    [Fact]
    public void Should_continue_bit_for_bit_after_a_save_and_load_with_its_adam_state()
    {
        var method = FedMas();
        var site = Experiment.Sites.Sites[0];
        var global = method.InitialGlobal();
        using var a = method.CreateClient(site.HospitalId);
        a.LoadGlobal(global);
        a.Train(site.Train);
        using var state = new MemoryStream();
        a.SaveState(state);
        using var b = method.CreateClient(site.HospitalId);
        b.LoadState(new MemoryStream(state.ToArray()), "spec");

        a.LoadGlobal(global);
        b.LoadGlobal(global);
        Assert.Equal(a.Train(site.Train).MeanLoss, b.Train(site.Train).MeanLoss);
        Assert.Equal(a.ExportWeights().ContentHash, b.ExportWeights().ContentHash);
    }

    [Fact]
    public void Should_aggregate_every_entry_batch_norm_buffers_included_by_robust_factor_shares_summing_to_one()
    {
        static ModelWeights Weights(float value) => new([new WeightTensor("fc.weight", [2], [value, 2 * value]), new WeightTensor("norm.running_var", [1], [value])]);
        static ClientContribution Upload(string id, float value, int samples, double rf) =>
            new(id, Weights(value), samples, MethodPayloads.Of((ImbalancedClassifierLearner.RobustFactorPayload, new ScalarPayload(rf))));
        var server = new FedMasServer();
        ClientContribution[] uploads = [Upload("a", 1, 100, 0.1), Upload("b", 4, 10, 0.3)];

        var aggregate = server.Aggregate(1, Weights(0), uploads);

        // a = [0.25, 0.75] whatever the sample counts: 0.25·1 + 0.75·4 = 3.25 in every entry's scale.
        Assert.Equal(0.25, aggregate.ClientWeights["a"], 12);
        Assert.Equal(0.75, aggregate.ClientWeights["b"], 12);
        Assert.Equal(1, aggregate.ClientWeights.Values.Sum(), 12);
        Assert.Equal([3.25f, 6.5f], aggregate.Global["fc.weight"].Values);
        Assert.Equal([3.25f], aggregate.Global["norm.running_var"].Values);
        // No evidence at all (every factor 0): FedAvg's sample shares.
        var fallback = server.Aggregate(1, Weights(0), [Upload("a", 1, 30, 0), Upload("b", 4, 10, 0)]);
        Assert.Equal(0.75, fallback.ClientWeights["a"], 12);
        // The ablation weighs by samples whatever the factors: 100 and 10 → 10/11 and 1/11.
        var ablation = new FedMasServer(FedMasAggregation.Samples).Aggregate(1, Weights(0), uploads);
        Assert.Equal(100.0 / 110, ablation.ClientWeights["a"], 12);
    }

    [Fact]
    public void Should_log_each_uploads_robust_factor_beside_its_weight_in_aggregation_csv()
    {
        static ClientContribution Upload(string id, int samples, double rf) =>
            new(id, new ModelWeights([new WeightTensor("w", [1], [1])]), samples, MethodPayloads.Of((ImbalancedClassifierLearner.RobustFactorPayload, new ScalarPayload(rf))));
        // Hand-checked: factors 0.1, 0.3, 0.1 → weights 0.2, 0.6, 0.2; the ablation keeps the factors, weighs 100:50:50.
        ClientContribution[] uploads = [Upload("hospital-01", 100, 0.1), Upload("hospital-02", 50, 0.3), Upload("hospital-03", 50, 0.1)];
        var method = new FedMasServer().Aggregate(1, uploads[0].Weights, uploads);
        var ablation = new FedMasServer(FedMasAggregation.Samples).Aggregate(2, uploads[0].Weights, uploads);

        var run = FedActors.Host.Runs.RunDirectory.Named(_directory, "log", "fedactors {}");
        foreach (var (round, aggregate) in new[] { (1, method), (2, ablation) })
            run.AppendMetrics(new FedActors.Actors.Protocol.RoundSummary
            {
                Round = round, Selected = [.. aggregate.ClientWeights.Keys], GlobalHash = aggregate.Global.ContentHash,
                AggregationWeights = aggregate.ClientWeights, AggregationFactors = aggregate.ClientFactors!,
            });

        var rows = File.ReadAllLines(Path.Combine(run.Path, FedActors.Host.Runs.RunDirectory.AggregationFile));
        Assert.Equal("round,hospital,weight,robust_factor", rows[0]);
        Assert.Equal(
        [
            "1,hospital-01,0.2,0.1", "1,hospital-02,0.6,0.3", "1,hospital-03,0.2,0.1",
            "2,hospital-01,0.5,0.1", "2,hospital-02,0.25,0.3", "2,hospital-03,0.25,0.1",
        ], rows.Skip(1).Select(r => string.Join(',', r.Split(',').Select((cell, i) => i == 2 ? Math.Round(double.Parse(cell, System.Globalization.CultureInfo.InvariantCulture), 12).ToString(System.Globalization.CultureInfo.InvariantCulture) : cell))));
    }

    [Fact]
    public void Should_log_the_robust_factors_its_learners_computed_and_weights_summing_to_one()
    {
        var method = FedMas();
        var global = method.InitialGlobal();
        var computed = new Dictionary<string, double>();
        var uploads = new List<ClientContribution>();
        foreach (var site in Experiment.Sites.Sites)
        {
            using var client = (ImbalancedClassifierLearner)method.CreateClient(site.HospitalId);
            client.LoadGlobal(global);
            client.Train(site.Train);
            var (w, l) = client.LastMeasurements!.Value;
            computed[site.HospitalId] = RobustFactor.Compute(w, l);
            uploads.Add(new ClientContribution(site.HospitalId, client.ExportWeights(), site.Train.Count, client.CollectUpload(1, site.Train)));
        }

        var aggregate = method.CreateServer().Aggregate(1, global, uploads);

        Assert.Equal(computed, aggregate.ClientFactors);
        Assert.Equal(1, aggregate.ClientWeights.Values.Sum(), 12);
        foreach (var (id, rf) in computed) Assert.Equal(rf / computed.Values.Sum(), aggregate.ClientWeights[id], 12);
    }

    [Fact]
    public void Should_reject_an_upload_without_a_usable_robust_factor()
    {
        var server = new FedMasServer();
        var weights = new ModelWeights([new WeightTensor("w", [1], [1f])]);

        Assert.Contains("robust-factor", server.Check(1, new ClientContribution("a", weights, 1, MethodPayloads.Empty)));
        Assert.NotNull(server.Check(1, new ClientContribution("a", weights, 1,
            MethodPayloads.Of((ImbalancedClassifierLearner.RobustFactorPayload, new ScalarPayload(double.NaN))))));
        Assert.NotNull(server.Check(1, new ClientContribution("a", weights, 1,
            MethodPayloads.Of((ImbalancedClassifierLearner.RobustFactorPayload, new ScalarPayload(-0.1))))));
    }

    [Fact]
    public void Should_train_the_baselines_on_out_1_alone_and_upload_weights_only()
    {
        var site = Experiment.Sites.Sites[0];
        foreach (var name in new[] { ImbalancedClassificationMethod.FedAvgCe, ImbalancedClassificationMethod.FedAvgBsm, ImbalancedClassificationMethod.FedProxCe })
        {
            var method = ImbalancedClassificationMethod.Create(name, Experiment, new ImbalancedClassifierOptions { BatchSize = 8 }, 0.45, null);
            Assert.IsType<FederatedAveragingServer>(method.CreateServer());
            using var client = (ImbalancedClassifierLearner)method.CreateClient(site.HospitalId);
            var global = method.InitialGlobal();
            client.LoadGlobal(global);
            client.Train(site.Train);
            Assert.True(client.CollectUpload(1, site.Train).IsEmpty);
            Assert.Null(client.LastMeasurements);
            // out_2's classifier gets no gradient without Fed-MAS's loss.
            Assert.Equal(global["projected_classifier.fc.weight"].Values, client.ExportWeights()["projected_classifier.fc.weight"].Values);
        }
        Assert.Throws<ArgumentException>(() => ImbalancedClassificationMethod.Create(ImbalancedClassificationMethod.FedMas, Experiment, new(), 0, null));
    }

    public void Dispose() => Directory.Delete(_directory, recursive: true);
}
