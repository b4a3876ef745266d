using System.Diagnostics;
using System.Globalization;
using Akka.Actor;
using Akka.Hosting;
using FedActors.Actors.Devices;
using FedActors.Actors.Hospitals;
using FedActors.Actors.Hosting;
using FedActors.Actors.Protocol;
using FedActors.Actors.Rounds;
using FedActors.Host.Configuration;
using FedActors.Training;
using FedActors.Training.Experiments;
using FedActors.Training.Methods;
using FedActors.Training.Methods.Fcl;
using FedActors.Training.Weights;

namespace FedActors.Host.Runs;

/// <summary>The outcome of a run as the command reports it.</summary>
/// <param name="Directory">The run directory the results were written to.</param>
/// <param name="Completed">The coordinator's final message: the final global model and every round's summary.</param>
/// <param name="TrainedProbeAccuracy">The final global encoder's linear-probe accuracy; NaN for a method whose model has no encoder to probe (<see cref="MethodEvaluations.LinearProbe"/>).</param>
/// <param name="RandomProbeAccuracy">The initial (random) encoder's, likewise.</param>
/// <param name="Passivation">
/// How often idle hospitals were passivated and restarted from their snapshots, when this process hosted them under a
/// <see cref="HospitalHost"/> (<c>passivate-hospitals = on</c>); null when hospitals stayed resident, or were passivated
/// by a cluster's shards, which keep no such count.
/// </param>
public sealed record RunResult(RunDirectory Directory, RunCompleted Completed, double TrainedProbeAccuracy, double RandomProbeAccuracy,
    PassivationCounts? Passivation = null);

/// <summary>
/// An experiment built from its config, the same way on every node: data, hospitals,
/// initial global model, evaluation. The node that coordinates also drives the run and
/// writes its directory.
/// </summary>
public sealed class PreparedRun
{
    private PreparedRun(ExperimentConfig config, FederatedExperiment experiment, ModelWeights initialGlobal, FederatedRun run, Func<IFederatedServer?> server)
    {
        _server = server;
        Config = config;
        Experiment = experiment;
        InitialGlobal = initialGlobal;
        Run = run;
    }

    private readonly Func<IFederatedServer?> _server;

    /// <summary>The configuration the run was built from.</summary>
    public ExperimentConfig Config { get; }

    /// <summary>The experiment's data (each hospital's split, the evaluation sets) and models, used to probe the global encoder.</summary>
    public FederatedExperiment Experiment { get; }

    /// <summary>The method's initial global model, the same on every node for a given config; the random-encoder baseline of the probe.</summary>
    public ModelWeights InitialGlobal { get; }

    /// <summary>What a node hosts: coordinator settings, hospital definitions, initial model and evaluation, for <c>WithFederatedRun</c> or <c>WithFedActorsNode</c>.</summary>
    public FederatedRun Run { get; }

    /// <summary>Builds the experiment of <paramref name="config"/>: data, the method's hospitals and initial model, and the coordinator's per-round evaluation (a linear probe, for methods judged by one).</summary>
    /// <param name="config">The experiment; its torch thread count is applied to this process.</param>
    /// <param name="snapshotDirectory">Where hospitals snapshot their local state (shared by all workers of a cluster run).</param>
    /// <param name="checkpointRounds">The coordinator checkpoints its rounds into <paramref name="snapshotDirectory"/> too, so the run can resume.</param>
    /// <param name="runId">
    /// The run whose state this is, which names its table with <c>persistence.store = postgresql</c>; null: the name of
    /// <paramref name="snapshotDirectory"/>'s parent (a run directory's <c>snapshots/</c>).
    /// </param>
    /// <exception cref="ConfigError">With <c>persistence.store = postgresql</c>: no usable connection string, or the database cannot be reached (named, before any data is built).</exception>
    public static PreparedRun Prepare(ExperimentConfig config, string snapshotDirectory, bool checkpointRounds = false, string? runId = null)
    {
        runId ??= Path.GetFileName(Path.GetDirectoryName(Path.GetFullPath(snapshotDirectory).TrimEnd(Path.DirectorySeparatorChar))) ?? "run";
        var store = config.Host.Persistence.SnapshotStore(runId, Environment.GetEnvironmentVariable);
        // An unreachable database is one error now, naming the key and host, not a snapshot timeout in round 1.
        PersistenceSettings.RequireReachable(store, Environment.GetEnvironmentVariable);
        TorchRuntime.ConfigureThreads(config.Host.TorchThreads);
        // Building data and the initial model runs libtorch kernels; their thread team must not outlive them.
        return TorchRuntime.OnPassingThread(() => PrepareHere(config, snapshotDirectory, checkpointRounds, store));
    }

    private static PreparedRun PrepareHere(ExperimentConfig config, string snapshotDirectory, bool checkpointRounds, SnapshotStoreSettings store)
    {
        var experiment = new FederatedExperiment(config.Experiment);
        IFederatedServer? server = null; // the coordinator's newest, when it runs in this process (Local CL's models are in it)
        var method = config.Method.Create(experiment);
        var initialGlobal = method.InitialGlobal();
        var hospitals = experiment.Sites.Sites
            .Select(s => new HospitalDefinition(s.HospitalId, () => s.Train, () => method.CreateClient(s.HospitalId))
            {
                MemoryBytes = DeviceMemory(config, initialGlobal.PayloadBytes, s.HospitalId, s.Train),
            })
            .ToList();
        var probes = config.Method.Registration.Evaluations.HasFlag(MethodEvaluations.LinearProbe);
        if (config.Coordinator.Aggregation.Kind != AggregationKind.FedAvg && config.Coordinator.Strategy is null && method.CreateServer() is not FederatedAveragingServer)
            throw new ConfigError($"{AggregationRule.Key} is {AggregationRule.Name(config.Coordinator.Aggregation.Kind)}, but method '{config.Method.Name}' does not aggregate by a weighted mean of the weights: set it to fedavg");
        if (config.Coordinator.Privacy.IsOn && config.Coordinator.Strategy is null && method.CreateServer() is not FederatedAveragingServer)
            throw new ConfigError($"fedactors.rounds.dp-noise-multiplier is {config.Coordinator.Privacy.NoiseMultiplier}, but method '{config.Method.Name}' does not aggregate by a weighted mean of the weights: set it to 0");
        // The coordinator caps each update's sample count at its hospital's shard.
        var coordinator = config.Coordinator with { ShardSizes = experiment.Sites.Sites.ToDictionary(s => s.HospitalId, s => s.Train.Count, StringComparer.Ordinal) };
        var run = new FederatedRun(coordinator, hospitals, initialGlobal, (weights, _) =>
        {
            if (!probes) return new Dictionary<string, double>();
            var probe = experiment.Probe(weights);
            return new Dictionary<string, double>
            {
                [EvaluationKeys.ProbeAccuracy] = probe.Accuracy,
                [EvaluationKeys.ProbeBalancedAccuracy] = probe.BalancedAccuracy,
            };
        }, TrainingThreads: config.Host.EffectiveTrainingThreads, SnapshotDirectory: snapshotDirectory, Devices: config.Host.Devices,
            CheckpointRounds: checkpointRounds, CreateServer: () => server = method.CreateServer()) { PassivateHospitals = config.Host.PassivateHospitals, SnapshotStore = store };
        return new PreparedRun(config, experiment, initialGlobal, run, () => server) { MethodKeepsLocalModels = method.CreateServer() is IKeepsLocalModels };
    }

    /// <summary>
    /// What <paramref name="hospitalId"/> asks its device for while training: nothing without a memory budget; else the
    /// declared figure or the estimate. One that no device's budget can hold is a configuration error now, not a
    /// hospital that waits forever.
    /// </summary>
    /// <param name="config">The experiment: its budget, declared figure, method batch size.</param>
    /// <param name="parameterBytes">The model's weights, in bytes.</param>
    /// <param name="hospitalId">The hospital, named in the error.</param>
    /// <param name="shard">Its training images (their shape).</param>
    /// <exception cref="ConfigError">The hospital needs more than a device's budget.</exception>
    public static long DeviceMemory(ExperimentConfig config, long parameterBytes, string hospitalId, FedActors.Training.Data.ImageShard shard)
    {
        var budget = config.Host.Devices.MemoryBudgetBytes;
        if (budget <= 0) return 0;
        var batch = config.Method.Registration.Keys.Where(k => k.Name.EndsWith("batch-size", StringComparison.Ordinal))
            .Select(k => config.Method.Settings.ValueOf(k)).OfType<int>().DefaultIfEmpty(config.Experiment.MoCo.BatchSize).Max();
        var declared = config.Host.HospitalMemoryBytes;
        var need = declared > 0 ? declared : TrainingMemory.Estimate(parameterBytes, batch, shard.Channels, shard.Height, shard.Width);
        if (need > budget)
            throw new ConfigError(string.Create(CultureInfo.InvariantCulture,
                $"{hospitalId} needs {need / 1048576.0:F0} MB of device memory ({(declared > 0 ? "fedactors.devices.hospital-memory-mb" : $"estimated: a model of {parameterBytes / 1048576.0:F1} MB, batches of {batch} images of {shard.Channels}×{shard.Height}×{shard.Width}")}), " +
                $"more than fedactors.devices.memory-budget-mb = {budget >> 20} per device: raise the budget, or lower the batch size or image size"));
        return need;
    }

    /// <summary>Each hospital's own model, for a method that keeps them (Local CL); its server must have run in this process.</summary>
    private IReadOnlyDictionary<string, ModelWeights>? LocalModels()
    {
        if (!MethodKeepsLocalModels) return null;
        return (_server() as IKeepsLocalModels)?.LocalModels
               ?? throw new InvalidOperationException($"{Config.Method.Name} is judged with each hospital's own model, which only its coordinator holds; drive the run from the node that coordinates it.");
    }

    private bool MethodKeepsLocalModels { get; init; }

    /// <summary>
    /// Starts the rounds on <paramref name="coordinator"/> (which continues from its checkpoint, if it
    /// has one), reports each, and writes the run directory. <paramref name="resumed"/>: this process
    /// continues a run another one began.
    /// </summary>
    public async Task<RunResult> DriveAsync(RunDirectory runDir, ActorSystem system, IActorRef coordinator, TextWriter output, CancellationToken cancel, bool resumed = false)
    {
        var wall = Stopwatch.StartNew();
        var settings = Config.Experiment;
        output.WriteLine($"FedActors run: method {Config.Method.Name}, {settings.Hospitals} hospitals, {Config.Coordinator.Rounds} rounds, seed {settings.Seed}, device {settings.Device}");
        output.WriteLine($"{(resumed ? "resuming run directory" : "run directory")}: {runDir.Path}");

        var finished = new TaskCompletionSource<RunCompleted>(TaskCreationOptions.RunContinuationsAsynchronously);
        // A status line only where a person watches: the console, on a terminal.
        var live = ReferenceEquals(output, Console.Out) && LiveProgress.ConsoleIsTerminal ? new LiveProgress(output, Config.Coordinator.Rounds) : null;
        var reporter = system.ActorOf(RunReporter.Props(runDir, output, Config.Coordinator.Rounds, finished, resumed, live), "run-reporter");
        coordinator.Tell(new SubscribeToRun(reporter));
        var checkpoints = system.ActorOf(CheckpointWriter.Props(runDir, Config.Host.Checkpoints, Config.Coordinator.Rounds, e => finished.TrySetException(e)), "checkpoint-writer");
        coordinator.Tell(new SubscribeToGlobals(checkpoints));
        coordinator.Tell(StartRun.Instance);
        var completed = await finished.Task.WaitAsync(cancel);
        // The last round's global reached the writer before the run completed: this waits for it to be on disk.
        await checkpoints.Ask<CheckpointWriter.Flush>(CheckpointWriter.Flush.Instance, TimeSpan.FromMinutes(5), cancel);

        runDir.SaveFinalWeights(completed.FinalGlobal);
        var evaluations = Config.Method.Registration.Evaluations;
        double trained = double.NaN, random = double.NaN, majority = double.NaN;
        if (evaluations.HasFlag(MethodEvaluations.LinearProbe))
        {
            trained = completed.Rounds[^1].Evaluation.TryGetValue(EvaluationKeys.ProbeAccuracy, out var acc)
                ? acc
                : TorchRuntime.OnPassingThread(() => Experiment.Probe(completed.FinalGlobal)).Accuracy;
            // Evaluations on passing threads, like the coordinator's (TorchRuntime.OnPassingThread): later runs in this process train at full speed.
            random = TorchRuntime.OnPassingThread(() => Experiment.Probe(InitialGlobal)).Accuracy;
            majority = Experiment.ProbeMajorityRate();
            var probed = settings.IsVolumetric ? $"slice-position partition of {Experiment.Sites.Classes}" : $"{Experiment.Sites.Classes} classes";
            output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"linear probe ({settings.ProbeLabelFraction:P0} labels, {probed}, majority class {majority:F3}): trained encoder {trained:F3}, random encoder {random:F3}"));
        }
        var perRound = completed.Rounds.Average(r => r.WallSeconds);
        var localSteps = completed.Rounds.Sum(r => r.LocalSteps);
        output.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"local optimiser steps: {localSteps} in all over {completed.Rounds.Count} rounds (the accepted updates', summed over hospitals)"));
        var deviceSlots = ActorRegistry.For(system).TryGet<DeviceSlots>(out var slots) ? slots : null;
        if (deviceSlots is not null)
        {
            var devices = await deviceSlots.Ask<DeviceUtilisation>(GetDeviceUtilisation.Instance, TimeSpan.FromSeconds(10), cancel);
            output.WriteLine("device use: " + string.Join(", ", devices.Devices.Select(d => string.Create(CultureInfo.InvariantCulture,
                $"{d.Device} {d.Utilisation:P0} of {d.Slots} slot(s), {d.Grants} leases"))));
        }
        PassivationCounts? passivation = null;
        if (ActorRegistry.For(system).TryGet<HospitalHost>(out var hospitalHost))
        {
            passivation = (await hospitalHost.Ask<HospitalHost.LiveHospitals>(HospitalHost.GetLiveHospitals.Instance, TimeSpan.FromSeconds(10), cancel)).Counts;
            output.WriteLine($"passivation: idle hospitals stopped {passivation.Passivated} times, restarted from their snapshots {passivation.Restarted} times");
        }
        if (settings.EvaluationFractions.Count > 0 && evaluations.HasFlag(MethodEvaluations.LinearProbe))
        {
            var fineTune = evaluations.HasFlag(MethodEvaluations.FineTune) ? settings.FineTune : null;
            var evaluation = TorchRuntime.OnPassingThread(() => Experiment.EvaluateLabelEfficiency(completed.FinalGlobal, InitialGlobal, settings.EvaluationFractions, fineTune));
            runDir.WriteEvaluation(evaluation, localSteps);
            foreach (var e in evaluation)
                output.WriteLine(e.Protocol == LabelEfficiency.MajorityClass
                    ? string.Create(CultureInfo.InvariantCulture,
                        $"majority class with {e.LabelFraction:P0} of the labels, {e.Split}: accuracy {e.Accuracy:F3}, balanced accuracy {e.BalancedAccuracy:F3}")
                    : string.Create(CultureInfo.InvariantCulture,
                        $"{e.Protocol} of the {e.Encoder} encoder with {e.LabelFraction:P0} of the labels ({e.Labelled} images), {e.Split}: accuracy {e.Accuracy:F3}, " +
                        $"balanced accuracy {e.BalancedAccuracy:F3} (step {e.SelectedStep} of {e.StepBudget}, chosen on validation balanced accuracy {e.ValidationBalancedAccuracy:F3})"));
        }
        if (settings.IsVolumetric && settings.Segmentation.LabelledVolumes.Count > 0 && evaluations.HasFlag(MethodEvaluations.Segmentation))
        {
            var scores = TorchRuntime.OnPassingThread(() => Experiment.EvaluateSegmentation(completed.FinalGlobal, LocalModels()));
            runDir.WriteSegmentation(scores);
            foreach (var e in scores)
                output.WriteLine(e.Skipped is not null
                    ? $"{e.Protocol} with {e.LabelledVolumes} labelled volume(s) per hospital: skipped, {e.Skipped}"
                    : string.Create(CultureInfo.InvariantCulture, $"{e.Protocol} with {e.LabelledVolumes} labelled volume(s) per hospital: Dice {e.Dice:F3}") +
                      (double.IsNaN(e.DiceStd) ? "" : string.Create(CultureInfo.InvariantCulture, $" ± {e.DiceStd:F3} over hospitals")));
        }
        if (evaluations.HasFlag(MethodEvaluations.GlobalClassifier))
        {
            var classifier = TorchRuntime.OnPassingThread(() => Experiment.EvaluateClassifier(runDir.Checkpoints()));
            runDir.WriteClassifierEvaluation(classifier);
            var chosen = classifier.Chosen;
            var sites = string.Join(", ", classifier.SiteBalancedAccuracy.Select(kv => FormattableString.Invariant($"{kv.Key} {kv.Value:F3}")));
            output.WriteLine(FormattableString.Invariant(
                $"global classifier, round {chosen.Round} chosen on validation (balanced accuracy {chosen.ValidationBalancedAccuracy:F3}): test balanced accuracy {chosen.TestBalancedAccuracy:F3}, accuracy {chosen.TestAccuracy:F3}; per hospital {sites}"));
        }
        RunPlots.Write(runDir.Path, Experiment.Sites.Sites.Select(s => s.HospitalId).ToList(), new RunPlots.Baselines(majority, random));
        Reports.HtmlReport.WriteRun(runDir.Path);
        output.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"done in {wall.Elapsed.TotalSeconds:F1} s ({perRound:F1} s per round); wrote {string.Join(", ", RunReporter.Written(runDir.Path))}"));
        return new RunResult(runDir, completed, trained, random, passivation);
    }
}
