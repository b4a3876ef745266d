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

/// <summary>
/// Seconds per round of the same rounds two ways: a whole run through the actors, and a bare sequential loop in
/// this process making the same calls on the same clients. Both end on <see cref="ActorsFinal"/> and
/// <see cref="LoopFinal"/>, which must be the same model for the comparison to be of identical work.
/// </summary>
public sealed record EngineOverheadRow(int Hospitals, int Rounds, IReadOnlyList<double> ActorSeconds, IReadOnlyList<double> LoopSeconds,
    string ActorsFinal, string LoopFinal)
{
    /// <summary>
    /// Steady state: round 1 also builds every learner and warms the JIT, and the run's last round also evaluates the
    /// final model, so both are left out (needs at least 3 rounds).
    /// </summary>
    private static double Steady(IReadOnlyList<double> seconds) => seconds.Skip(1).Take(seconds.Count - 2).Average();

    public double ActorSecondsPerRound => Steady(ActorSeconds);
    public double LoopSecondsPerRound => Steady(LoopSeconds);
    public double Ratio => ActorSecondsPerRound / LoopSecondsPerRound;
    public bool SameModel => ActorsFinal == LoopFinal;
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
        "rounds.evaluate-every=0", "checkpoints.every=0", "probe.steps=10", "training-threads=1", "passivate-hospitals=off",
    ];

    public static EngineOverheadRow Measure(string runsDirectory, int hospitals, int rounds, int imagesPerHospital, int imageSize)
    {
        if (rounds < 3) throw new ArgumentOutOfRangeException(nameof(rounds), rounds, "at least 3 rounds: the first and the last are not steady state");
        var config = ExperimentConfig.Load(null, Overrides(runsDirectory, hospitals, rounds, imagesPerHospital, imageSize));
        var (loopSeconds, loopFinal) = BareLoop(config);
        var result = RunCommand.ExecuteAsync(config, TextWriter.Null).GetAwaiter().GetResult();
        return new EngineOverheadRow(hospitals, rounds, result.Completed.Rounds.Select(r => r.WallSeconds).ToList(), loopSeconds,
            result.Completed.FinalGlobal.ContentHash, loopFinal);
    }

    /// <summary>
    /// What each hospital actor and the coordinator do in a round, as plain calls: broadcast, global in, local
    /// training, weights and extras out; the server's checks and aggregation. No snapshots, messages or run directory.
    /// </summary>
    public static (List<double> Seconds, string FinalHash) BareLoop(ExperimentConfig config)
    {
        TorchRuntime.ConfigureThreads(config.Host.TorchThreads);
        var experiment = new FederatedMoCoExperiment(config.Experiment);
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
            return (seconds, global.ContentHash);
        }
        finally
        {
            foreach (var c in clients.Values) c.Dispose();
        }
    }

    public static string Format(EngineOverheadRow r, string verdict) => string.Create(CultureInfo.InvariantCulture,
        $"engine overhead: {r.Hospitals} hospitals per round, {r.Rounds} rounds: actors {r.ActorSecondsPerRound:F2} s per round, bare loop {r.LoopSecondsPerRound:F2} s, ratio {r.Ratio:F3} ({verdict}); same final model: {(r.SameModel ? "yes" : "NO")}");
}
