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
/// and whole runs through the actors with hospitals resident and passivated. All must end on the same model for
/// the comparison to be of identical work.
/// </summary>
public sealed record EngineOverheadRow(int Hospitals, int Rounds, TimedRounds Loop, TimedRounds Resident, TimedRounds Passivated)
{
    public double Ratio => Resident.SteadySecondsPerRound / Loop.SteadySecondsPerRound;
    public double PassivatedRatio => Passivated.SteadySecondsPerRound / Loop.SteadySecondsPerRound;
    public double BestRoundRatio => Resident.BestSteadySecondsPerRound / Loop.BestSteadySecondsPerRound;
    public double BestRoundPassivatedRatio => Passivated.BestSteadySecondsPerRound / Loop.BestSteadySecondsPerRound;
    public bool SameModel => Resident.FinalHash == Loop.FinalHash && Passivated.FinalHash == Loop.FinalHash;
}

public static class EngineOverheadBenchmark
{
    /// <summary>Every hospital selected every round; one hospital trains at a time (training-threads = 1), as the loop does.</summary>
    public static List<string> Overrides(string runsDirectory, int hospitals, int rounds, int imagesPerHospital, int imageSize) =>
    [
        $"runs-dir=\"{runsDirectory}\"", $"data.hospitals={hospitals}", $"rounds.count={rounds}",
        "rounds.sample-fraction=1", $"rounds.min-participants={hospitals}", "method=fedmoco-plain",
        $"data.train-images-per-hospital={imagesPerHospital}", "data.test-images-per-hospital=2", $"data.image-size={imageSize}",
        "model.encoder-widths=[16,16,32,32]", "model.projection-dim=32", "moco.batch-size=16", "moco.queue-size=64",
        "rounds.evaluate-every=0", "checkpoints.every=0", "probe.steps=10", "training-threads=1",
    ];

    public static EngineOverheadRow Measure(string runsDirectory, int hospitals, int rounds, int imagesPerHospital, int imageSize)
    {
        if (rounds < 3) throw new ArgumentOutOfRangeException(nameof(rounds), rounds, "at least 3 rounds: the first and the last are not steady state");
        var overrides = Overrides(runsDirectory, hospitals, rounds, imagesPerHospital, imageSize);
        // On a thread of its own, as a training thread is, and gone before the actors train (TorchRuntime.OnPassingThread).
        var loop = TorchRuntime.OnPassingThread(() => BareLoop(ExperimentConfig.Load(null, overrides)));
        return new EngineOverheadRow(hospitals, rounds, loop, ThroughActors([.. overrides, "passivate-hospitals=off"]), ThroughActors([.. overrides, "passivate-hospitals=on"]));
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

    public static string Format(EngineOverheadRow r, string verdict) => string.Create(CultureInfo.InvariantCulture,
        $"engine overhead: {r.Hospitals} hospitals per round, {r.Rounds} rounds: actors {r.Resident.SteadySecondsPerRound:F2} s per round, bare loop {r.Loop.SteadySecondsPerRound:F2} s, ratio {r.Ratio:F3} ({verdict}); passivated {r.Passivated.SteadySecondsPerRound:F2} s, ratio {r.PassivatedRatio:F3}; same final model: {(r.SameModel ? "yes" : "NO")}");
}
