using System.Diagnostics;
using System.Globalization;
using FedActors.Host.Commands;
using FedActors.Host.Configuration;
using FedActors.Training;
using FedActors.Training.Experiments;
using FedActors.Training.Methods;
using FedActors.Training.Objectives;
using FedActors.Training.Weights;

namespace FedActors.Host.Benchmarks;

/// <summary>Seconds of each round of one way of running them, and the global model they ended on.</summary>
public sealed record TimedRounds(IReadOnlyList<double> Seconds, string FinalHash)
{
    /// <summary>
    /// The median of the steady rounds: round 1 also builds every learner and warms the JIT, and a run's last round
    /// also evaluates the final model, so both are left out (needs at least 3 rounds); the median, so that one round
    /// slowed by something else on the machine does not decide the figure.
    /// </summary>
    public double SteadySecondsPerRound
    {
        get
        {
            var steady = Seconds.Skip(1).Take(Seconds.Count - 2).Order().ToList();
            return steady.Count % 2 == 1 ? steady[steady.Count / 2] : (steady[steady.Count / 2 - 1] + steady[steady.Count / 2]) / 2;
        }
    }

    /// <summary>The fastest steady round: what a round costs undisturbed, since other load on the machine only ever adds time.</summary>
    public double BestSteadySecondsPerRound => Seconds.Skip(1).Take(Seconds.Count - 2).Min();
}

/// <summary>
/// The same rounds three ways: a bare sequential loop in this process making the same calls on the same clients,
/// and whole runs through the actors with hospitals resident and passivated, interleaved block by block (see
/// <see cref="InterleavedRounds"/>). All must end on the same model for the comparison to be of identical work.
/// </summary>
/// <param name="Hospitals">Hospitals, all selected every round.</param>
/// <param name="Rounds">Rounds of each run.</param>
/// <param name="Comparison">The interleaved runs and the ratios against the bare loop.</param>
public sealed record EngineOverheadRow(int Hospitals, int Rounds, InterleavedComparison Comparison)
{
    /// <summary>Resident hospital actors against the bare loop.</summary>
    public VariantRatio Resident => Comparison.Variants[0];

    /// <summary>Passivated hospital actors against the bare loop.</summary>
    public VariantRatio Passivated => Comparison.Variants[1];

    /// <summary>The bare loop's runs, one per block.</summary>
    public IReadOnlyList<TimedRounds> Loop => Comparison.Baseline;

    /// <summary>Whether every run ended on the same global model.</summary>
    public bool SameModel => Comparison.SameModel;
}

/// <summary><c>fedactors bench engine</c>: what the actors cost over a bare loop of the same calls.</summary>
public static class EngineOverheadBenchmark
{
    /// <summary>Every hospital selected every round; one hospital trains at a time (training-threads = 1), as the loop does.</summary>
    /// <param name="runsDirectory">Where the runs write.</param>
    /// <param name="hospitals">Hospitals, all selected every round.</param>
    /// <param name="rounds">Rounds of each run.</param>
    /// <param name="imagesPerHospital">Training images per hospital.</param>
    /// <param name="imageSize">Image side in pixels.</param>
    public static List<string> Overrides(string runsDirectory, int hospitals, int rounds, int imagesPerHospital, int imageSize) =>
    [
        $"runs-dir=\"{runsDirectory}\"", $"data.hospitals={hospitals}", $"rounds.count={rounds}",
        "rounds.sample-fraction=1", $"rounds.min-participants={hospitals}", "method=fedmoco-plain",
        $"data.train-images-per-hospital={imagesPerHospital}", "data.test-images-per-hospital=2", $"data.image-size={imageSize}",
        "model.encoder-widths=[16,16,32,32]", "model.projection-dim=32", "moco.batch-size=16", "moco.queue-size=64",
        "rounds.evaluate-every=0", "checkpoints.every=0", "probe.steps=10", "training-threads=1",
    ];

    /// <summary>Runs the bare loop, resident and passivated actors in interleaved blocks until <paramref name="limits"/> says stop.</summary>
    /// <param name="runsDirectory">Where the actor runs write their run directories.</param>
    /// <param name="hospitals">Hospitals, all selected every round.</param>
    /// <param name="rounds">Rounds of each run (at least 3: the first and the last are not steady).</param>
    /// <param name="imagesPerHospital">Training images per hospital.</param>
    /// <param name="imageSize">Image side in pixels.</param>
    /// <param name="limits">How many blocks, how narrow, how long.</param>
    /// <param name="progress">Told of each block as it ends; may be null.</param>
    public static EngineOverheadRow Measure(string runsDirectory, int hospitals, int rounds, int imagesPerHospital, int imageSize,
        InterleavingLimits limits, Action<string>? progress = null)
    {
        if (rounds < 3) throw new ArgumentOutOfRangeException(nameof(rounds), rounds, "at least 3 rounds: the first and the last are not steady state");
        var overrides = Overrides(runsDirectory, hospitals, rounds, imagesPerHospital, imageSize);
        var clock = Stopwatch.StartNew();
        var comparison = InterleavedRounds.Compare(
            // On a thread of its own, as a training thread is, and gone before the actors train (TorchRuntime.OnPassingThread).
            ("bare loop", () => TorchRuntime.OnPassingThread(() => BareLoop(ExperimentConfig.Load(null, overrides)))),
            [("actors", () => ThroughActors([.. overrides, "passivate-hospitals=off"])), ("passivated", () => ThroughActors([.. overrides, "passivate-hospitals=on"]))],
            limits, () => clock.Elapsed, progress);
        return new EngineOverheadRow(hospitals, rounds, comparison);
    }

    private static TimedRounds ThroughActors(List<string> overrides)
    {
        var result = RunCommand.ExecuteAsync(ExperimentConfig.Load(null, overrides), TextWriter.Null).GetAwaiter().GetResult();
        return new TimedRounds(result.Completed.Rounds.Select(r => r.WallSeconds).ToList(), result.Completed.FinalGlobal.ContentHash);
    }

    /// <summary>
    /// What each hospital actor and the coordinator do in a round, as plain calls: broadcast, global in, local
    /// training, weights and extras out; the server's checks and aggregation. No snapshots, messages or run directory.
    /// </summary>
    public static TimedRounds BareLoop(ExperimentConfig config)
    {
        TorchRuntime.ConfigureThreads(config.Host.TorchThreads);
        var experiment = new FederatedExperiment(config.Experiment);
        var method = config.Method.Create(experiment);
        var global = method.InitialGlobal();
        var server = method.CreateServer();
        var sites = experiment.Sites.Sites.OrderBy(s => s.HospitalId, StringComparer.Ordinal).ToList();
        var clients = new Dictionary<string, ILocalLearner>();
        var seconds = new List<double>();
        try
        {
            for (var round = 1; round <= config.Coordinator.Rounds; round++)
            {
                var clock = Stopwatch.StartNew();
                var accepted = new List<ClientContribution>();
                foreach (var site in sites)
                {
                    if (!clients.TryGetValue(site.HospitalId, out var learner))
                        clients[site.HospitalId] = learner = method.CreateClient(site.HospitalId);
                    var client = learner as IFederatedClient;
                    client?.ReceiveBroadcast(round, server.Broadcast(round, site.HospitalId));
                    learner.LoadGlobal(global);
                    var trained = learner.Train(site.Train);
                    var upload = new ClientContribution(site.HospitalId, learner.ExportWeights(), trained.Samples,
                        client?.CollectUpload(round, site.Train) ?? MethodPayloads.Empty);
                    if (server.Check(round, upload) is { } reason)
                        throw new InvalidOperationException($"{site.HospitalId}: upload of round {round} rejected: {reason}");
                    accepted.Add(upload);
                }
                global = server.Aggregate(round, global, accepted).Global;
                seconds.Add(clock.Elapsed.TotalSeconds);
            }
            return new TimedRounds(seconds, global.ContentHash);
        }
        finally
        {
            foreach (var c in clients.Values) c.Dispose();
        }
    }

    /// <summary>One line: both ratios with their intervals, the verdict, whether the models agree.</summary>
    public static string Format(EngineOverheadRow r, string verdict) => string.Create(CultureInfo.InvariantCulture,
        $"engine overhead: {r.Hospitals} hospitals per round, {r.Rounds}-round runs in {r.Comparison.Blocks} interleaved blocks: actors / bare loop {r.Resident.Ratio} ({verdict}); passivated / bare loop {r.Passivated.Ratio}; same final model: {(r.SameModel ? "yes" : "NO")}");
}
