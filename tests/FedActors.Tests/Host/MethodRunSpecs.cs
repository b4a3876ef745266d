using Akka.Actor;
using FedActors.Actors.Hospitals;
using FedActors.Actors.Hosting;
using FedActors.Host.Runs;
using Microsoft.Extensions.DependencyInjection;
using FedActors.Actors.Protocol;
using FedActors.Host.Commands;
using FedActors.Host.Configuration;
using FedActors.Training.Methods;

namespace FedActors.Tests.Host;

/// <summary>Methods chosen by name in the experiment config, run end to end through <c>fedactors run</c>.</summary>
[Collection(InProcessRuns.Name)]
public sealed class MethodRunSpecs : IDisposable
{
    private readonly string _runsRoot = Directory.CreateTempSubdirectory("fedactors-methods-").FullName;

    private Task<FedActors.Host.Runs.RunResult> Run(params string[] method) =>
        RunCommand.ExecuteAsync(ExperimentConfig.Load(null, [.. TinyRun.Overrides(_runsRoot, 5), .. method]), TextWriter.Null);

    private static long Bytes(RoundSummary round, string direction, string kind) =>
        round.Traffic!.Where(t => t.Direction == direction && t.Kind == kind).Sum(t => t.Bytes);

    [Fact]
    public async Task Should_run_fedmoco_sending_site_statistics_once_and_rho_every_round()
    {
        var result = await Run("method=fedmoco").Within(TimeSpan.FromMinutes(3), "the run");

        var (first, second) = (result.Completed.Rounds[0], result.Completed.Rounds[1]);
        const long statistics = 2 * sizeof(float), rho = sizeof(double);
        // Round 1: each of the 4 hospitals uploads its statistics and ρ; nothing is broadcast yet.
        Assert.Equal(4 * statistics, Bytes(first, ClientTraffic.Up, PayloadKinds.Statistics));
        Assert.Equal(4 * rho, Bytes(first, ClientTraffic.Up, PayloadKinds.Scalar));
        Assert.Equal(0, Bytes(first, ClientTraffic.Down, PayloadKinds.Statistics));
        // Round 2: the server broadcasts the 4 sites' statistics to each hospital; only ρ goes up.
        Assert.Equal(4 * 4 * statistics, Bytes(second, ClientTraffic.Down, PayloadKinds.Statistics));
        Assert.Equal(0, Bytes(second, ClientTraffic.Up, PayloadKinds.Statistics));
        Assert.Equal(4 * rho, Bytes(second, ClientTraffic.Up, PayloadKinds.Scalar));
        Assert.All(result.Completed.Rounds, r => Assert.Equal(1, r.AggregationWeights!.Values.Sum(), 9));
        Assert.Equal(second.BytesUp, second.Traffic!.Where(t => t.Direction == ClientTraffic.Up).Sum(t => t.Bytes));
        // traffic.csv holds the same figures, one row per round, hospital, direction and kind.
        var rows = File.ReadAllLines(Path.Combine(result.Directory.Path, FedActors.Host.Runs.RunDirectory.TrafficFile));
        Assert.Equal("round,hospital,direction,kind,bytes", rows[0]);
        Assert.Contains("2,hospital-01,down,statistics,32", rows);
        Assert.Equal(result.Completed.Rounds.Sum(r => r.Traffic!.Count), rows.Length - 1);
        // aggregation.csv: the weight FedMoCo's server gave each upload, summing to 1 per round.
        var weights = File.ReadAllLines(Path.Combine(result.Directory.Path, FedActors.Host.Runs.RunDirectory.AggregationFile)).Skip(1)
            .Select(l => l.Split(',')).ToList();
        Assert.Equal(8, weights.Count);
        Assert.All(weights.GroupBy(w => w[0]), g => Assert.Equal(1, g.Sum(w => double.Parse(w[2], System.Globalization.CultureInfo.InvariantCulture)), 9));
        Assert.Equal(second.AggregationWeights!["hospital-03"],
            double.Parse(weights.Single(w => w[0] == "2" && w[1] == "hospital-03")[2], System.Globalization.CultureInfo.InvariantCulture));
    }

    [Fact]
    public async Task Should_end_where_fedmoco_plain_ends_with_both_fedmoco_modules_off()
    {
        var plain = await Run("method=fedmoco-plain").Within(TimeSpan.FromMinutes(3), "the run");
        var ablated = await Run("method=fedmoco", "fedmoco.metadata-transfer=off", "fedmoco.rsa-aggregation=off").Within(TimeSpan.FromMinutes(3), "the run");
        var full = await Run("method=fedmoco").Within(TimeSpan.FromMinutes(3), "the run");

        Assert.Equal(plain.Completed.FinalGlobal.ContentHash, ablated.Completed.FinalGlobal.ContentHash);
        Assert.NotEqual(plain.Completed.FinalGlobal.ContentHash, full.Completed.FinalGlobal.ContentHash);
    }

    [Fact]
    public async Task Should_run_fedsimclr_with_simclr_clients_and_fedavg()
    {
        var simclr = await Run("method=fedsimclr").Within(TimeSpan.FromMinutes(3), "the run");
        var plain = await Run("method=fedmoco-plain").Within(TimeSpan.FromMinutes(3), "the run");

        Assert.Equal(2, simclr.Completed.Rounds.Count);
        Assert.All(simclr.Completed.Rounds, r => Assert.Equal(4, r.Aggregated.Count));
        Assert.All(simclr.Completed.Rounds, r => Assert.True(double.IsFinite(r.MeanLoss)));
        Assert.NotEqual(plain.Completed.FinalGlobal.ContentHash, simclr.Completed.FinalGlobal.ContentHash);
        Assert.Contains("method = fedsimclr", File.ReadAllText(Path.Combine(simclr.Directory.Path, "resolved.conf")).Replace(" : ", " = ").Replace("\"", ""));
    }

    [Theory]
    [InlineData("fedbyol")]
    [InlineData("fedu")]
    public async Task Should_run_the_byol_methods_and_judge_their_encoder_like_the_others(string method)
    {
        var result = await Run($"method={method}").Within(TimeSpan.FromMinutes(3), "the run");

        Assert.All(result.Completed.Rounds, r => Assert.Equal(4, r.Aggregated.Count));
        Assert.All(result.Completed.Rounds, r => Assert.True(double.IsFinite(r.MeanLoss)));
        Assert.InRange(result.TrainedProbeAccuracy, 0, 1);
    }

    [Fact]
    public async Task Should_run_fedprox_by_name_with_its_mu()
    {
        var prox = await Run("method=fedprox", "fedprox.mu=1").Within(TimeSpan.FromMinutes(3), "the run");
        var noPull = await Run("method=fedprox", "fedprox.mu=0").Within(TimeSpan.FromMinutes(3), "the run");
        var plain = await Run("method=fedmoco-plain").Within(TimeSpan.FromMinutes(3), "the run");

        Assert.All(prox.Completed.Rounds, r => Assert.Equal(4, r.Aggregated.Count));
        Assert.NotEqual(plain.Completed.FinalGlobal.ContentHash, prox.Completed.FinalGlobal.ContentHash);
        // The key itself decides: μ = 0 is FedMoCo-plain exactly, so a fedprox that ignored fedprox.mu (its default is 0.01) would differ.
        Assert.Equal(plain.Completed.FinalGlobal.ContentHash, noPull.Completed.FinalGlobal.ContentHash);
    }

    [Fact]
    public async Task Should_run_fedema_with_byol_clients_and_end_away_from_fedbyol()
    {
        var ema = await Run("method=fedema").Within(TimeSpan.FromMinutes(3), "the run");
        var plain = await Run("method=fedbyol").Within(TimeSpan.FromMinutes(3), "the run");

        Assert.All(ema.Completed.Rounds, r => Assert.Equal(4, r.Aggregated.Count));
        // BYOL clients: round 1 starts every client from the global, as FedBYOL does; from round 2
        // each keeps μ of its own model (auto-scaled λ: μ = τ = 0.7 at its first divergence).
        Assert.Equal(plain.Completed.Rounds[0].GlobalHash, ema.Completed.Rounds[0].GlobalHash);
        Assert.NotEqual(plain.Completed.FinalGlobal.ContentHash, ema.Completed.FinalGlobal.ContentHash);
    }

    [Theory]
    [InlineData("fcl", PayloadKinds.Features, PayloadKinds.Features)]
    [InlineData("fclopt", PayloadKinds.TargetWeights, PayloadKinds.TargetWeights)]
    [InlineData("fclopt;fclopt.ptnu=on;fclopt.dp=on", PayloadKinds.TargetWeights, null)]
    [InlineData("none", null, null)]
    [InlineData("local-cl", null, null)]
    public async Task Should_run_the_volumetric_methods_and_judge_them_by_segmentation(string method, string? up, string? down)
    {
        var result = await Run([.. method.Split(';').Select((m, i) => i == 0 ? $"method={m}" : m),
            "data.source=synthetic-cardiac", "model.encoder=unet", "model.unet-width=4", "model.unet-depth=2", "data.slice-size=32",
            "data.volumes-per-hospital=2", "data.volume-depth=8", "data.test-volumes=2", "data.validation-volumes=2",
            "evaluation.labelled-volumes=[1]", "evaluation.segmentation.epochs=1", "evaluation.segmentation.federated-rounds=1",
            "evaluation.segmentation.federated-local-epochs=1"]).Within(TimeSpan.FromMinutes(3), "the run");

        var rows = File.ReadAllLines(Path.Combine(result.Directory.Path, FedActors.Host.Runs.RunDirectory.EvaluationFile));
        Assert.StartsWith("protocol,labelled_volumes,dice,dice_std_over_hospitals,dice_hospital-01,", rows[0]);
        Assert.Equal(["local-fine-tune,1", "federated-fine-tune,1"], rows.Skip(1).Select(r => string.Join(',', r.Split(',')[..2])));
        Assert.All(rows.Skip(1), r => Assert.InRange(double.Parse(r.Split(',')[2], System.Globalization.CultureInfo.InvariantCulture), 0, 1));
        var kinds = result.Completed.Rounds.SelectMany(r => r.Traffic!).Where(t => t.Kind != PayloadKinds.Weights)
            .Select(t => (t.Direction, t.Kind)).Distinct().ToList();
        Assert.Equal(up is null ? [] : [(ClientTraffic.Up, up)], kinds.Where(k => k.Direction == ClientTraffic.Up));
        Assert.Equal(down is null ? [] : [(ClientTraffic.Down, down)], kinds.Where(k => k.Direction == ClientTraffic.Down));
        if (method == "none") Assert.Equal(result.Completed.Rounds[0].GlobalHash, result.Completed.FinalGlobal.ContentHash);
        // Local CL: every hospital's local-fine-tune row is its own encoder's; each hospital has a Dice.
        if (method == "local-cl") Assert.Equal(4, rows[1].Split(',').Skip(4).Take(4).Count(v => v.Length > 0));
    }

    private static readonly string[] Skewed =
    [
        "data.source=synthetic-skin", "data.classes=4", "data.imbalance-ratio=10", "data.site-sizes=[4,3,2,1]", "data.label-skew=1.0",
        "classifier.batch-size=8", "model.projection-dim=16",
    ];

    [Theory]
    [InlineData("fedmas")]
    [InlineData("fedavg-ce")]
    [InlineData("fedavg-bsm")]
    [InlineData("fedprox-ce")]
    public async Task Should_run_the_imbalanced_classification_methods_and_judge_the_global_classifier(string method)
    {
        List<string> settings = [$"method={method}", .. Skewed];
        if (method == "fedmas")
        {
            // The frozen encoder, pre-trained by the command users run (on its default source, a synthetic archive no hospital holds).
            var encoder = Path.Combine(_runsRoot, "auxiliary.weights");
            var printed = new StringWriter();
            AuxiliaryCommand.Execute(ExperimentConfig.Load(null, [.. TinyRun.Overrides(_runsRoot, 5), .. Skewed]), new AuxiliaryCommand.Options(encoder, 1), printed);
            var hash = printed.ToString().Split('\n').Single(l => l.StartsWith("fedactors.fedmas.auxiliary-hash = ", StringComparison.Ordinal)).Split(" = ")[1].Trim();
            Assert.Equal(FedActors.Training.Weights.ModelWeights.Load(encoder).ContentHash, hash);
            settings.AddRange([$"fedmas.auxiliary=\"{encoder}\"", $"fedmas.auxiliary-hash={hash}"]);
        }

        var result = await Run([.. settings]).Within(TimeSpan.FromMinutes(3), "the run");

        var rows = File.ReadAllLines(Path.Combine(result.Directory.Path, FedActors.Host.Runs.RunDirectory.EvaluationFile));
        Assert.StartsWith("protocol,label_fraction,round,accuracy,balanced_accuracy,validation_balanced_accuracy,balanced_accuracy_hospital-01,", rows[0]);
        var cells = rows[1].Split(',');
        Assert.Equal("global-classifier", cells[0]);
        Assert.Contains(cells[2], new[] { "1", "2" });
        Assert.All(cells[3..], v => Assert.InRange(double.Parse(v, System.Globalization.CultureInfo.InvariantCulture), 0, 1));
        // The majority-class baseline beside it: balanced accuracy 1 / classes present (4 on the pooled test split).
        var majority = rows[2].Split(',');
        Assert.Equal(["majority-class", "1", ""], majority[..3]);
        Assert.Equal(0.25, double.Parse(majority[4], System.Globalization.CultureInfo.InvariantCulture), 12);
        Assert.Equal(3, rows.Length);
        Assert.Equal(3, File.ReadAllLines(Path.Combine(result.Directory.Path, FedActors.Host.Runs.RunDirectory.ClassifierFile)).Length);
        // Fed-MAS uploads a robust factor per hospital and weighs by it; the baselines by sample counts.
        var scalars = result.Completed.Rounds.SelectMany(r => r.Traffic!).Count(t => t.Kind == PayloadKinds.Scalar && t.Direction == ClientTraffic.Up);
        Assert.Equal(method == "fedmas" ? 8 : 0, scalars);
        foreach (var round in result.Completed.Rounds) Assert.Equal(1, round.AggregationWeights!.Values.Sum(), 9);
        // aggregation.csv logs each upload's robust factor beside its weight, and the weight is its share of the round's factors.
        var logged = File.ReadAllLines(Path.Combine(result.Directory.Path, FedActors.Host.Runs.RunDirectory.AggregationFile));
        Assert.Equal("round,hospital,weight,robust_factor", logged[0]);
        var loggedRows = logged.Skip(1).Select(l => l.Split(',')).ToList();
        Assert.Equal(8, loggedRows.Count);
        if (method != "fedmas") Assert.All(loggedRows, c => Assert.Equal("", c[3]));
        else
            foreach (var round in loggedRows.GroupBy(c => c[0]))
            {
                double Number(string v) => double.Parse(v, System.Globalization.CultureInfo.InvariantCulture);
                var sum = round.Sum(c => Number(c[3]));
                Assert.All(round, c => Assert.Equal(Number(c[3]) / sum, Number(c[2]), 9));
                Assert.Equal(1, round.Sum(c => Number(c[2])), 9);
                var summary = result.Completed.Rounds.Single(r => r.Round == int.Parse(round.Key, System.Globalization.CultureInfo.InvariantCulture));
                Assert.All(round, c => Assert.Equal(summary.AggregationFactors[c[1]], Number(c[3])));
            }
    }

    [Fact]
    public async Task Should_end_with_the_same_global_model_when_idle_hospitals_are_passivated()
    {
        // Two of four hospitals per round: the others sit in their snapshots between their rounds.
        string[] fewPerRound = ["rounds.sample-fraction=0.5", "rounds.min-participants=2", "rounds.count=3"];

        var resident = await Run([.. fewPerRound]).Within(TimeSpan.FromMinutes(3), "the run");
        var passivated = await Run([.. fewPerRound, "passivate-hospitals=on"]).Within(TimeSpan.FromMinutes(3), "the run");

        Assert.Equal(resident.Completed.Rounds.Select(r => r.GlobalHash), passivated.Completed.Rounds.Select(r => r.GlobalHash));
        Assert.Equal(resident.Completed.FinalGlobal.ContentHash, passivated.Completed.FinalGlobal.ContentHash);
        // Equal models alone would pass with the key ignored: the hospitals must really have stopped and come back.
        Assert.Null(resident.Passivation);
        var counts = Assert.IsType<PassivationCounts>(passivated.Passivation);
        // Some hospital is selected again in a later round (the selection is seeded), so it was stopped after its first
        // round and restarted from its snapshot for the next: it reports idle (a local, synchronous enqueue at its host)
        // as it answers, long before that round closes, is aggregated and the next one's requests go out.
        var selectedAgain = passivated.Completed.Rounds.SelectMany(r => r.Selected).GroupBy(h => h).Count(g => g.Count() > 1);
        Assert.True(selectedAgain > 0, "the spec needs a hospital selected twice");
        // Every restart follows a passivation of the same hospital.
        Assert.InRange(counts.Restarted, 1, counts.Passivated);
    }

    [Theory]
    [InlineData("on", true)]
    [InlineData("off", false)]
    public async Task Should_put_hospitals_under_a_passivating_host_only_when_configured(string setting, bool hosted)
    {
        // The run above ends the same either way, so this checks the key reaches the node: the host is there or not.
        var config = ExperimentConfig.Load(null, [.. TinyRun.Overrides(_runsRoot, 5), $"passivate-hospitals={setting}"]);
        var prepared = PreparedRun.Prepare(config, Path.Combine(_runsRoot, "snapshots"));
        using var app = NodeHost.Build(akka => akka.WithFederatedRun(prepared.Run));
        await app.StartAsync();
        try
        {
            var system = app.Services.GetRequiredService<ActorSystem>();
            IActorRef? host;
            try { host = await system.ActorSelection("/user/hospitals").ResolveOne(TestTime.Dilated(TimeSpan.FromSeconds(3))); }
            catch (ActorNotFoundException) { host = null; }
            Assert.Equal(hosted, host is not null);
            if (host is not null)
                Assert.Empty((await host.AskWithin<HospitalHost.LiveHospitals>(HospitalHost.GetLiveHospitals.Instance, TimeSpan.FromSeconds(3), "the hospital host's live hospitals")).HospitalIds);
        }
        finally { await app.StopAsync(); }
    }

    [Fact]
    public async Task Should_run_supervised_fedavg_and_judge_its_encoder_like_the_others()
    {
        var result = await Run("method=fedavg-supervised", "supervised.label-fraction=0.5").Within(TimeSpan.FromMinutes(3), "the run");

        Assert.All(result.Completed.Rounds, r => Assert.Equal(4, r.Aggregated.Count));
        Assert.InRange(result.TrainedProbeAccuracy, 0, 1);
        Assert.True(result.Completed.FinalGlobal.HasSubmodule(FedActors.Training.Objectives.SupervisedModel.Encoder));
    }

    /// <summary>Plain MoCo clients; a server that weighs hospital-0k's upload by k, whatever its sample count.</summary>
    private sealed class IndexWeightsMethod(FedActors.Training.Experiments.FederatedExperiment experiment) : IFederatedMethod
    {
        public string Name => "spec-weighted-by-index";
        public FedActors.Training.Objectives.ILocalLearner CreateClient(string hospitalId) => experiment.CreateLearner(hospitalId);
        public IFederatedServer CreateServer() => new IndexWeightsServer();
        public FedActors.Training.Weights.ModelWeights InitialGlobal() => experiment.InitialGlobal();
    }

    private sealed class IndexWeightsServer : IFederatedServer
    {
        public string Method => "spec-weighted-by-index";
        public MethodPayloads Broadcast(int round, string hospitalId) => MethodPayloads.Empty;
        public string? Check(int round, ClientContribution upload) => null;
        public ServerAggregate Aggregate(int round, FedActors.Training.Weights.ModelWeights previousGlobal, IReadOnlyList<ClientContribution> accepted) =>
            FederatedAveragingServer.Weighted(accepted, accepted.Select(u => double.Parse(u.HospitalId[^2..])).ToList());
        public byte[] SaveState() => [];
        public void LoadState(byte[] state, string source) { }
    }

    /// <summary>Registered in the registry the command line reads configs with, as a user's program would.</summary>
    private static readonly MethodRegistration IndexWeights = new("spec-weighted-by-index", "MoCo v2 clients; hospital-0k weighs k",
        (experiment, _) => new IndexWeightsMethod(experiment));

    [Fact]
    public async Task Should_run_a_method_registered_by_a_spec_chosen_by_name_in_the_config()
    {
        MethodRegistry.Default.Register(IndexWeights);

        var result = await Run("method=spec-weighted-by-index").Within(TimeSpan.FromMinutes(3), "the run");

        // Sample-weighted FedAvg would give each of TinyRun's equal shards 1/4; this server gives k/10.
        Assert.All(result.Completed.Rounds, r => Assert.All(r.AggregationWeights!, w => Assert.Equal(double.Parse(w.Key[^2..]) / 10, w.Value, 12)));
        Assert.Contains("spec-weighted-by-index", File.ReadAllText(Path.Combine(result.Directory.Path, "resolved.conf")));
        Assert.Throws<ArgumentException>(() => MethodRegistry.Default.Register(IndexWeights with { Name = "fedmoco" }));
    }

    [Fact]
    public void Should_name_the_key_of_an_unknown_method()
    {
        var error = Assert.Throws<ConfigError>(() => ExperimentConfig.Load(null, ["method=fedmagic"]));
        Assert.Contains("'fedactors.method'", error.Message);
        Assert.Contains("fedmoco", error.Message);
    }

    public void Dispose() => Directory.Delete(_runsRoot, recursive: true);
}
