using System.Globalization;
using FedActors.Actors.Faults;
using FedActors.Actors.Rounds;
using FedActors.Actors.Simulation;
using FedActors.Host.Commands;
using FedActors.Host.Configuration;
using FedActors.Training.Methods;

namespace FedActors.Testing;

/// <summary>
/// A builder for a small, fast federated run in this process, for a test: by default 4 hospitals of 32 synthetic
/// 16-px images each, a tiny encoder, 3 rounds, seed 42, <c>fedmoco-plain</c>, which finish in a few seconds on two
/// cores. The run goes the way of <c>fedactors run</c>: HOCON, <see cref="ExperimentConfig.Load"/> and its checks (a bad
/// value is a <see cref="ConfigError"/> naming the key and where it was set), then <see cref="RunCommand"/>. It writes
/// into a temporary directory that the <see cref="SimulationRun"/> owns and deletes when disposed.
/// </summary>
/// <example>
/// <code>
/// await using var run = await Simulation.Create().Hospitals(4).Rounds(3).Seed(7).Drop("hospital-02", round: 2).RunAsync();
/// Assert.Equal(UpdateOutcome.Dropped, run.Round(2).OutcomeOf("hospital-02"));
/// </code>
/// </example>
public sealed class Simulation
{
    /// <summary>The tiny experiment's settings, each used unless the HOCON given to <see cref="Config"/> sets its key.</summary>
    private static readonly (string Key, string Value)[] TinyDefaults =
    [
        ("data.train-images-per-hospital", "32"), ("data.test-images-per-hospital", "16"), ("data.image-size", "16"),
        ("model.encoder-widths", "[8,8,16,16]"), ("model.projection-dim", "16"), ("moco.queue-size", "32"), ("moco.batch-size", "8"),
        ("probe.steps", "30"), ("training-threads", "2"),
    ];

    private const string Root = "fedactors";
    private int? _hospitals;
    private int? _rounds;
    private ulong? _seed;
    private string? _method;
    private MethodRegistry? _methods;
    private Func<RoundRules, IRoundStrategy>? _strategy;
    private readonly List<string> _config = [];
    private readonly List<string> _faults = [];
    private bool _keepFiles;
    private TimeSpan _within = TimeSpan.FromMinutes(5);
    private TextWriter _output = TextWriter.Null;
    private RandomDropout? _dropout;
    private readonly List<ScriptedDrop> _drops = [];
    private readonly List<ScriptedSlowdown> _slowdowns = [];
    private readonly List<ScriptedCoordinatorCrash> _crashes = [];
    private readonly List<MessageFault> _messages = [];
    private readonly List<ScriptedCorruption> _corruptions = [];
    private readonly List<ScriptedMalice> _malicious = [];
    private readonly List<ScriptedWorkerCrash> _workerCrashes = [];
    private int? _workers;
    private readonly Dictionary<string, List<OnInterval>> _availability = new(StringComparer.Ordinal);

    private Simulation()
    {
    }

    /// <summary>A tiny run with every default; change it with the builder's methods, then <see cref="RunAsync"/>.</summary>
    public static Simulation Create() => new();

    /// <summary>How many hospitals take part (default 4), named <c>hospital-01</c>, <c>hospital-02</c>, ….</summary>
    public Simulation Hospitals(int count)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(count, 1);
        _hospitals = count;
        return this;
    }

    /// <summary>How many rounds the run has (default 3).</summary>
    public Simulation Rounds(int count)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(count, 1);
        _rounds = count;
        return this;
    }

    /// <summary>
    /// The experiment seed (default 42): it fixes data, partitioning, selection, faults and every client's generator,
    /// each derived from it. There is no other seed to set.
    /// </summary>
    public Simulation Seed(ulong seed)
    {
        _seed = seed;
        return this;
    }

    /// <summary>The federated method by its registered name (default <c>fedmoco-plain</c>; <c>fedactors methods</c> lists them).</summary>
    public Simulation Method(string name)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        _method = name;
        return this;
    }

    /// <summary>The methods the run may name (default <see cref="MethodRegistry.Default"/>): give one with a method of your own.</summary>
    public Simulation Methods(MethodRegistry registry)
    {
        _methods = registry ?? throw new ArgumentNullException(nameof(registry));
        return this;
    }

    /// <summary>The round strategy (selection, failures, aggregation), made from the configured rules; default FedAvg.</summary>
    public Simulation Strategy(Func<RoundRules, IRoundStrategy> strategy)
    {
        _strategy = strategy ?? throw new ArgumentNullException(nameof(strategy));
        return this;
    }

    /// <summary>
    /// HOCON under <c>fedactors</c>, as in an experiment file (e.g. <c>"rounds.deadline = 30"</c>), applied over the tiny
    /// defaults; the typed settings (<see cref="Hospitals"/>, <see cref="Rounds"/>, <see cref="Seed"/>, <see cref="Method"/>)
    /// win over it where both are given. Several calls add up, later ones winning. A bad key or value fails <see cref="RunAsync"/> with the
    /// <see cref="ConfigError"/> the command would give, naming the key and its line in the text given here.
    /// </summary>
    public Simulation Config(string hocon)
    {
        ArgumentNullException.ThrowIfNull(hocon);
        _config.Add(hocon);
        return this;
    }

    /// <summary>
    /// A fault plan as HOCON under <c>fedactors.faults</c>, e.g.
    /// <c>"events = [ { kind = drop, hospital = hospital-02, round = 2 } ]"</c> (see the README's faults section);
    /// faults added in code (<see cref="Drop"/>, …) join it.
    /// </summary>
    public Simulation Faults(string hocon)
    {
        ArgumentNullException.ThrowIfNull(hocon);
        _faults.Add(hocon);
        return this;
    }

    /// <summary>Hospital <paramref name="hospitalId"/> drops in <paramref name="round"/>, at <paramref name="stage"/>.</summary>
    public Simulation Drop(string hospitalId, int round, DropoutStage stage = DropoutStage.BeforeTraining)
    {
        _drops.Add(new ScriptedDrop(hospitalId, round, stage));
        return this;
    }

    /// <summary>Hospital <paramref name="hospitalId"/> computes <paramref name="factor"/> times slower from <paramref name="fromRound"/> on (a straggler).</summary>
    public Simulation Slow(string hospitalId, int fromRound, double factor)
    {
        _slowdowns.Add(new ScriptedSlowdown(hospitalId, fromRound, factor));
        return this;
    }

    /// <summary>
    /// A round accepts updates only until <paramref name="seconds"/> on the simulated clock after it starts; with
    /// <see cref="Slow"/>, a straggler's update arrives late.
    /// </summary>
    public Simulation Deadline(double seconds) =>
        Config(string.Create(CultureInfo.InvariantCulture, $"rounds.deadline = {seconds:R}"));

    /// <summary>Each <paramref name="message"/> of a round is lost in transit with <paramref name="probability"/> (drawn from the seed).</summary>
    public Simulation Lose(RoundMessage message, double probability = 1)
    {
        _messages.Add(new MessageFault(message, Lose: true, probability));
        return this;
    }

    /// <summary>Each <paramref name="message"/> of a round is delayed by <paramref name="seconds"/> simulated seconds with <paramref name="probability"/>.</summary>
    public Simulation Delay(RoundMessage message, double seconds, double probability = 1)
    {
        _messages.Add(new MessageFault(message, Lose: false, probability, seconds));
        return this;
    }

    /// <summary>The coordinator crashes once <paramref name="round"/>'s requests are out, and recovers from its last checkpoint.</summary>
    public Simulation CrashCoordinator(int round)
    {
        _crashes.Add(new ScriptedCoordinatorCrash(round));
        return this;
    }

    /// <summary>
    /// Runs on an Akka.NET cluster inside this process instead of one actor system: a coordinator node and
    /// <paramref name="count"/> worker nodes named <c>worker-1</c>, <c>worker-2</c>, …, wired as <c>fedactors node</c> wires
    /// them (hospitals as shard entities spread over the workers, the round coordinator a cluster singleton, weights
    /// fetched between nodes over loopback TCP). Same config and seed, same numbers as in one process. Slower to start
    /// (the cluster forms first: seconds); needed for <see cref="CrashWorker"/>.
    /// </summary>
    public Simulation Workers(int count)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(count, 1);
        _workers = count;
        return this;
    }

    /// <summary>
    /// Node loss: worker <paramref name="node"/> (<c>worker-1</c>, … of <see cref="Workers"/>) crashes once
    /// <paramref name="round"/>'s requests are out, taking the hospitals it hosts and their work in progress with it; the
    /// cluster downs it, its hospitals restart on a surviving worker from their last snapshots, and the coordinator asks
    /// them again. Needs <see cref="Workers"/> of at least 2. The same as the HOCON event
    /// <c>{ kind = crash-worker, node = worker-1, round = 2 }</c>.
    /// </summary>
    public Simulation CrashWorker(string node, int round)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(node);
        _workerCrashes.Add(new ScriptedWorkerCrash(node, round));
        return this;
    }

    /// <summary>
    /// Every selected hospital drops with <paramref name="probability"/> each round, at a stage drawn from
    /// <paramref name="stages"/> (default: before training); the draws come from the seed.
    /// </summary>
    public Simulation RandomDropout(double probability, params DropoutStage[] stages)
    {
        _dropout = new RandomDropout(probability, stages.Length == 0 ? [DropoutStage.BeforeTraining] : stages);
        return this;
    }

    /// <summary>
    /// Hospital <paramref name="hospitalId"/> is online only during <paramref name="intervals"/> (start and end, in
    /// simulated seconds); hospitals never named are always online. Offline hospitals are not selected, and one that
    /// goes offline before its upload arrives is dropped.
    /// </summary>
    public Simulation Available(string hospitalId, params (double Start, double End)[] intervals)
    {
        if (!_availability.TryGetValue(hospitalId, out var list)) _availability[hospitalId] = list = [];
        list.AddRange(intervals.Select(i => new OnInterval(i.Start, i.End)));
        return this;
    }

    /// <summary>Hospital <paramref name="hospitalId"/>'s upload in <paramref name="round"/> arrives spoilt by <paramref name="corruption"/>; the round rejects it.</summary>
    public Simulation Corrupt(string hospitalId, int round, Corruption corruption)
    {
        _corruptions.Add(new ScriptedCorruption(hospitalId, round, corruption));
        return this;
    }

    /// <summary>
    /// Hospital <paramref name="hospitalId"/> is malicious from <paramref name="fromRound"/> on: its hospital alters its upload as
    /// <paramref name="kind"/> says (scaled by <paramref name="parameter"/>, sign-flipped, noise of σ = <paramref name="parameter"/>
    /// seeded from the experiment seed, NaN, or a stale replay of an earlier upload). The same as a <c>malicious</c> event in
    /// <c>faults.events</c>.
    /// </summary>
    public Simulation Malicious(string hospitalId, int fromRound, MaliceKind kind, double parameter = 0)
    {
        _malicious.Add(new ScriptedMalice(hospitalId, fromRound, kind, parameter));
        return this;
    }

    /// <summary>
    /// FedScale's published client traces, read as FedScale writes them (the pickles <c>client_behave_trace</c> and
    /// <c>client_device_capacity</c> of its <c>benchmark/dataset/data/device_info</c>): <paramref name="behaviourTrace"/> says
    /// when each hospital is online (as <see cref="Available"/> does), <paramref name="deviceCapacity"/> gives each its
    /// speed factor and bandwidth; either may be null. Hospitals are matched with client ids by <paramref name="clients"/>.
    /// The same as the keys <c>faults.fedscale-behaviour-trace</c>, <c>heterogeneity.fedscale-device-capacity</c> and
    /// <c>fedscale-clients</c>; a path is taken relative to the working directory. A missing or malformed file fails
    /// <see cref="RunAsync"/> with a <see cref="ConfigError"/> naming the key and the file.
    /// </summary>
    public Simulation FedScale(string? behaviourTrace = null, string? deviceCapacity = null, FedScaleClientOrder clients = FedScaleClientOrder.Ascending)
    {
        if (behaviourTrace is null && deviceCapacity is null) throw new ArgumentException("give a behaviour trace, a device capacity trace or both");
        static string Quoted(string path) => "\"" + Path.GetFullPath(path).Replace("\\", "\\\\", StringComparison.Ordinal).Replace("\"", "\\\"", StringComparison.Ordinal) + "\"";
        if (behaviourTrace is not null) Config($"faults.fedscale-behaviour-trace = {Quoted(behaviourTrace)}");
        if (deviceCapacity is not null) Config($"heterogeneity.fedscale-device-capacity = {Quoted(deviceCapacity)}");
        return Config($"fedscale-clients = {(clients == FedScaleClientOrder.Seeded ? "seeded" : "ascending")}");
    }

    /// <summary>Keep the run's directory when the result is disposed (to read its files after a failing test).</summary>
    public Simulation KeepFiles()
    {
        _keepFiles = true;
        return this;
    }

    /// <summary>The longest the run may take on the wall clock (default 5 minutes); past it, <see cref="RunAsync"/> throws a <see cref="TimeoutException"/>.</summary>
    public Simulation Within(TimeSpan bound)
    {
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(bound, TimeSpan.Zero);
        _within = bound;
        return this;
    }

    /// <summary>Where the run's progress lines go (default: nowhere), e.g. a writer over xunit's <c>ITestOutputHelper</c>.</summary>
    public Simulation Output(TextWriter output)
    {
        _output = output ?? throw new ArgumentNullException(nameof(output));
        return this;
    }

    /// <summary>
    /// Runs it. The result owns a temporary directory (the run's files); dispose it (<c>await using</c>) to delete it.
    /// </summary>
    /// <exception cref="ConfigError">A setting failed the checks of <c>fedactors run</c>; the message names the key and where it was set.</exception>
    /// <exception cref="TimeoutException">The run took longer than <see cref="Within"/> allows.</exception>
    public async Task<SimulationRun> RunAsync(CancellationToken cancel = default)
    {
        var root = Directory.CreateTempSubdirectory("fedactors-testing-").FullName;
        using var bounded = CancellationTokenSource.CreateLinkedTokenSource(cancel);
        bounded.CancelAfter(_within);
        try
        {
            var config = Load(root);
            var result = _workers is { } workers
                ? await LoopbackRun.ExecuteAsync(config, workers, _output, bounded.Token)
                : await RunCommand.ExecuteAsync(config, _output, bounded.Token);
            return new SimulationRun(result, root, _keepFiles);
        }
        catch (RunInterrupted e) when (!cancel.IsCancellationRequested)
        {
            if (!_keepFiles) SimulationRun.DeleteDirectory(root);
            throw new TimeoutException($"the simulation did not finish within {_within} ({e.CompletedRounds} rounds completed)", e);
        }
        catch (OperationCanceledException e) when (!cancel.IsCancellationRequested)
        {
            if (!_keepFiles) SimulationRun.DeleteDirectory(root);
            throw new TimeoutException($"the simulation on {_workers} worker nodes did not finish within {_within}", e);
        }
        catch
        {
            if (!_keepFiles) SimulationRun.DeleteDirectory(root);
            throw;
        }
    }

    /// <summary>
    /// The experiment file (the HOCON given), the tiny defaults and the typed settings, loaded as the command loads them.
    /// Faults and availability given in code are written into the file too (after the HOCON given, so its lines keep
    /// their numbers), and so into the run's <c>resolved.conf</c>: <c>fedactors run --resume</c> on the run's directory
    /// replays them. Only a strategy given in code lives outside the file.
    /// </summary>
    private ExperimentConfig Load(string root)
    {
        var file = Path.Combine(root, "experiment.conf");
        var text = ExperimentText();
        File.WriteAllText(file, text);
        IReadOnlyDictionary<string, string> set;
        try { set = ExperimentConfig.Flatten(text, file); }
        catch (ConfigError) { set = new Dictionary<string, string>(); } // Load names the problem as the command does
        bool Sets(string key) => set.ContainsKey($"{Root}.{key}");

        var hospitals = _hospitals ?? (set.TryGetValue($"{Root}.data.hospitals", out var h) && int.TryParse(h, CultureInfo.InvariantCulture, out var n) ? n : 4);
        var overrides = TinyDefaults.Where(d => !Sets(d.Key)).Select(d => $"{d.Key}={d.Value}").ToList();
        if (!Sets("data.hospitals")) overrides.Add($"data.hospitals={hospitals}");
        if (!Sets("rounds.count")) overrides.Add("rounds.count=3");
        if (!Sets("rounds.min-participants")) overrides.Add($"rounds.min-participants={Math.Max(1, hospitals / 2)}");
        if (!Sets("seed")) overrides.Add("seed=42");
        // Never runs/ under the working directory: the run's directory is in the temporary one the result owns.
        overrides.Add($"runs-dir={HoconText.Quote(Path.Combine(root, "runs"))}");
        if (_hospitals is { } count) overrides.Add($"data.hospitals={count}");
        if (_rounds is { } rounds) overrides.Add($"rounds.count={rounds}");
        if (_seed is { } seed) overrides.Add($"seed={seed}");
        if (_method is { } method) overrides.Add($"method={method}");

        var config = ExperimentConfig.Load(file, overrides, _methods);
        var fromCode = new List<string>();
        if (CodeFaults(config) is { } faults) fromCode.Add($"{Root}.faults {{\n{FaultPlanHocon.Render(faults)}}}");
        if (CodeAvailability(config, root) is { } trace) fromCode.Add($"{Root}.faults.availability-trace = {HoconText.Quote(trace)}");
        if (fromCode.Count > 0)
        {
            File.WriteAllText(file, text + "# faults given in code (Simulation's builder)\n" + string.Join("\n", fromCode) + "\n");
            config = ExperimentConfig.Load(file, overrides, _methods);
        }
        return _strategy is null ? config : config.WithRoundsFromCode(_strategy);
    }

    /// <summary>
    /// The HOCON given, under <c>fedactors</c>, the first line of each text on a line of its own, so that an error's line
    /// is the line in the concatenation of the texts (the line in the text itself when there is one).
    /// </summary>
    private string ExperimentText()
    {
        var parts = _config.Select(c => c.TrimStart().StartsWith(Root, StringComparison.Ordinal) ? c : $"{Root} {{ {c}\n}}").ToList();
        parts.AddRange(_faults.Select(f => $"{Root}.faults {{ {f}\n}}"));
        return string.Join("\n", parts) + "\n";
    }

    /// <summary>The configured fault plan with the faults given in code added (code's random dropout replaces the config's).</summary>
    private FaultPlan? CodeFaults(ExperimentConfig config)
    {
        CheckWorkerCrashes(config);
        if (_dropout is null && _drops.Count + _slowdowns.Count + _crashes.Count + _messages.Count + _corruptions.Count + _malicious.Count + _workerCrashes.Count == 0) return null;
        var hospitals = Enumerable.Range(0, config.Experiment.Hospitals).Select(i => FedActors.Training.Experiments.ExperimentSettings.HospitalIdOf(i, config.Experiment.Hospitals)).ToHashSet();
        foreach (var id in _drops.Select(d => d.HospitalId).Concat(_slowdowns.Select(s => s.HospitalId)).Concat(_corruptions.Select(c => c.HospitalId)).Concat(_malicious.Select(m => m.HospitalId)))
            if (!hospitals.Contains(id)) throw new ConfigError($"a fault given in code names '{id}', which is not a hospital (hospital-01 … {hospitals.Max()})");
        var rounds = config.Coordinator.Rounds;
        foreach (var round in _drops.Select(d => d.Round).Concat(_slowdowns.Select(s => s.FromRound)).Concat(_crashes.Select(c => c.Round)).Concat(_corruptions.Select(c => c.Round)).Concat(_malicious.Select(m => m.FromRound)).Concat(_workerCrashes.Select(c => c.Round)))
            if (round < 1 || round > rounds) throw new ConfigError($"a fault given in code is at round {round}, but rounds run from 1 to {rounds}");
        var configured = config.Coordinator.Faults;
        return configured with
        {
            Dropout = _dropout ?? configured.Dropout,
            Drops = [.. configured.Drops, .. _drops],
            Slowdowns = [.. configured.Slowdowns, .. _slowdowns],
            CoordinatorCrashes = [.. configured.CoordinatorCrashes, .. _crashes],
            WorkerCrashes = [.. configured.WorkerCrashes, .. _workerCrashes],
            Messages = [.. configured.Messages, .. _messages],
            Corruptions = [.. configured.Corruptions, .. _corruptions],
            Malicious = [.. configured.Malicious, .. _malicious],
        };
    }

    /// <summary>Worker crashes, in code or in HOCON, name workers this simulation has; a crash needs a survivor.</summary>
    private void CheckWorkerCrashes(ExperimentConfig config)
    {
        var crashes = config.Coordinator.Faults.WorkerCrashes.Concat(_workerCrashes).ToList();
        if (crashes.Count == 0) return;
        if (_workers is not { } workers || workers < 2)
            throw new ConfigError($"a crash of worker '{crashes[0].Node}' needs worker nodes: call Workers(2) or more (this simulation has {(_workers is { } w ? $"{w} worker" : "no worker nodes, one actor system")})");
        foreach (var crash in crashes)
            if (!Enumerable.Range(1, workers).Select(i => $"worker-{i}").Contains(crash.Node))
                throw new ConfigError($"a crash names worker '{crash.Node}', but the workers are worker-1 … worker-{workers}");
    }

    /// <summary>
    /// The intervals given in code, written as an availability trace (<c>hospital,start_s,end_s</c>) into the run's
    /// temporary directory; its path, or null when none were given. Hospitals it does not name are always on.
    /// </summary>
    private string? CodeAvailability(ExperimentConfig config, string root)
    {
        if (_availability.Count == 0) return null;
        if (config.Coordinator.Availability.TracedHospitals.Count > 0)
            throw new ConfigError($"availability given both in code and by 'fedactors.faults.availability-trace': give it one way");
        var path = Path.Combine(root, "availability.csv");
        File.WriteAllLines(path, _availability.SelectMany(kv => kv.Value.Select(i => string.Create(CultureInfo.InvariantCulture, $"{kv.Key},{i.Start:R},{i.End:R}")))
            .Prepend("hospital,start_s,end_s"));
        return path;
    }
}
