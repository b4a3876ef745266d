using FedActors.Actors.Coordination;
using FedActors.Actors.Faults;
using FedActors.Actors.Rounds;
using FedActors.Actors.Simulation;
using FedActors.Training.Data;

namespace FedActors.Host.Configuration;

/// <summary>
/// Reads the simulation part of an experiment: round policies (<c>fedactors.rounds</c>), injected
/// faults (<c>fedactors.faults</c>) and system heterogeneity (<c>fedactors.heterogeneity</c>).
/// Every error names the key (down to <c>events[i].field</c>) and the layer that set it.
/// </summary>
internal static partial class SimulationConfig
{
    public const string Faults = "fedactors.faults";
    public const string Events = Faults + ".events";
    public const string AvailabilityTraceKey = Faults + ".availability-trace";
    public const string Heterogeneity = "fedactors.heterogeneity";
    public const string None = "none";

    /// <summary>The distribution-valued keys: objects whose fields depend on the distribution chosen.</summary>
    public static readonly string[] DistributionKeys = [Heterogeneity + ".speed-factor", Heterogeneity + ".bandwidth-mbps"];

    /// <summary>Fields a distribution object may have: its kind and every distribution's parameters.</summary>
    public static readonly string[] DistributionFields = ["distribution", "value", "min", "max", "median", "sigma"];

    private static readonly Dictionary<string, string[]> DistributionParameters = new()
    {
        [ValueDistribution.ConstantKind] = ["value"],
        [ValueDistribution.UniformKind] = ["min", "max"],
        [ValueDistribution.LogNormalKind] = ["median", "sigma"],
    };

    private static readonly Dictionary<string, DropoutStage> Stages = Enum.GetValues<DropoutStage>().ToDictionary(FaultPlanHocon.Stage);

    public static CoordinatorSettings ReadRounds(ConfigReader r, ulong seed, int hospitals)
    {
        var settings = new CoordinatorSettings
        {
            Rounds = r.Int("fedactors.rounds.count", 1, 100_000),
            SampleFraction = r.Double("fedactors.rounds.sample-fraction", 1e-9, 1),
            MinParticipants = r.Int("fedactors.rounds.min-participants", 1, 1_000_000),
            MinParticipantsFraction = r.Double("fedactors.rounds.min-participants-fraction", 0, 1),
            OverSelection = r.Double("fedactors.rounds.over-selection", 0, 10),
            DeadlineSeconds = r.String("fedactors.rounds.deadline") == None
                ? double.PositiveInfinity
                : r.Double("fedactors.rounds.deadline", 1e-9, double.MaxValue),
            OnTooFew = r.OneOf("fedactors.rounds.on-too-few", "skip", "retry") == "retry" ? TooFewPolicy.Retry : TooFewPolicy.Skip,
            MaxRetries = r.Int("fedactors.rounds.max-retries", 0, 1000),
            RoundTimeout = r.Duration("fedactors.rounds.timeout"),
            EvaluateEvery = r.Int("fedactors.rounds.evaluate-every", 0, 100_000),
            ResendInterval = r.Duration("fedactors.rounds.resend-interval"),
            Seed = seed,
            Aggregation = new AggregationRule(AggregationRule.Names[r.OneOf(AggregationRule.Key, AggregationRule.Names.Keys.ToArray())],
                r.Double("fedactors.rounds.trim-fraction", 0, 0.499999), r.Double("fedactors.rounds.clip-factor", 1e-9, 1e6),
                r.Int("fedactors.rounds.krum-byzantine", 0, 100_000), r.Int("fedactors.rounds.krum-select", 1, 100_000)),
            Privacy = new ClientPrivacy(r.Double("fedactors.rounds.dp-noise-multiplier", 0, 1e6), r.Double("fedactors.rounds.dp-clip-norm", 1e-12, 1e12),
                r.Double("fedactors.rounds.dp-delta", 1e-300, 0.999999)),
            UpdateNorm = new UpdateNormBound(Enum.Parse<UpdateNormMode>(r.OneOf("fedactors.rounds.update-norm-bound", "off", "reject", "clip"), ignoreCase: true),
                r.Double("fedactors.rounds.update-norm-factor", 1, 1e12)),
        };
        if (settings.MinParticipants > hospitals)
            throw r.Error("fedactors.rounds.min-participants", $"is {settings.MinParticipants} but there are only {hospitals} hospitals");
        return settings;
    }

    public static FaultPlan ReadFaults(ConfigReader r, IReadOnlyList<string> hospitals, int rounds)
    {
        var probability = r.Double(Faults + ".dropout.probability", 0, 1);
        var stages = r.StringList(Faults + ".dropout.stages").Select(s => Stages.TryGetValue(s, out var stage)
            ? stage
            : throw r.Error(Faults + ".dropout.stages", $"has '{HoconShape.Snippet(s)}'; stages are {string.Join(", ", Stages.Keys)}")).ToList();
        if (stages.Count == 0) throw r.Error(Faults + ".dropout.stages", "needs at least one stage");

        var (drops, slowdowns, workerCrashes, coordinatorCrashes, messages) =
            (new List<ScriptedDrop>(), new List<ScriptedSlowdown>(), new List<ScriptedWorkerCrash>(), new List<ScriptedCoordinatorCrash>(), new List<MessageFault>());
        var corruptions = new List<ScriptedCorruption>();
        var malicious = new List<ScriptedMalice>();
        foreach (var e in r.Objects(Events, "{ kind = drop, hospital = hospital-03, round = 2 }"))
        {
            var kind = e.OneOf("kind", "drop", "slow", "crash-worker", "crash-coordinator", "message", "corrupt", "malicious");
            int Round() => e.Int("round", 1, rounds);
            switch (kind)
            {
                case "drop":
                    e.OnlyFields("a drop event", "kind", "hospital", "round", "stage");
                    drops.Add(new ScriptedDrop(Hospital(e, "hospital", hospitals), Round(),
                        e.Has("stage") ? Stages.GetValueOrDefault(e.OneOf("stage", Stages.Keys.ToArray())) : DropoutStage.BeforeTraining));
                    break;
                case "slow":
                    e.OnlyFields("a slow event", "kind", "hospital", "round", "factor");
                    slowdowns.Add(new ScriptedSlowdown(Hospital(e, "hospital", hospitals), Round(), e.Double("factor", 1e-6, 1e6)));
                    break;
                case "crash-worker":
                    e.OnlyFields("a crash-worker event", "kind", "node", "round");
                    workerCrashes.Add(new ScriptedWorkerCrash(e.String("node"), Round()));
                    break;
                case "crash-coordinator":
                    e.OnlyFields("a crash-coordinator event", "kind", "round");
                    coordinatorCrashes.Add(new ScriptedCoordinatorCrash(Round()));
                    break;
                case "corrupt":
                    e.OnlyFields("a corrupt event", "kind", "hospital", "round", "corruption");
                    corruptions.Add(new ScriptedCorruption(Hospital(e, "hospital", hospitals), Round(),
                        e.OneOf("corruption", "nan", "scaled") == "nan" ? Corruption.NaN : Corruption.Scaled));
                    break;
                case "malicious":
                    var attack = FaultPlanHocon.Attacks[e.OneOf("attack", FaultPlanHocon.Attacks.Keys.ToArray())];
                    var parameter = attack switch { MaliceKind.Scaled => "factor", MaliceKind.Noise => "sigma", _ => null };
                    if (parameter is null) e.OnlyFields($"a malicious event with attack = {FaultPlanHocon.Attack(attack)}", "kind", "hospital", "round", "attack");
                    else e.OnlyFields($"a malicious event with attack = {FaultPlanHocon.Attack(attack)}", "kind", "hospital", "round", "attack", parameter);
                    var value = parameter switch
                    {
                        "factor" => e.Double("factor", -1e30, 1e30),
                        "sigma" => e.Double("sigma", 1e-12, 1e12),
                        _ => 0,
                    };
                    if (parameter == "factor" && value == 0) throw e.Error("factor", "must not be 0");
                    malicious.Add(new ScriptedMalice(Hospital(e, "hospital", hospitals), Round(), attack, value));
                    break;
                default:
                    var lose = e.OneOf("action", "delay", "lose") == "lose";
                    if (lose) e.OnlyFields("a message event that loses messages", "kind", "message", "action", "probability");
                    else e.OnlyFields("a message event that delays messages", "kind", "message", "action", "probability", "delay");
                    messages.Add(new MessageFault(e.OneOf("message", "request", "upload") == "request" ? RoundMessage.Request : RoundMessage.Upload,
                        lose, e.Double("probability", 0, 1), lose ? 0 : e.Double("delay", 1e-9, 1e9)));
                    break;
            }
        }
        return new FaultPlan
        {
            Dropout = probability > 0 ? new RandomDropout(probability, stages) : null,
            Drops = drops, Slowdowns = slowdowns, WorkerCrashes = workerCrashes, CoordinatorCrashes = coordinatorCrashes, Messages = messages,
            Corruptions = corruptions,
            Malicious = malicious,
        };
    }

    /// <summary>The trace at <c>faults.availability-trace</c>; a relative path is taken from <paramref name="relativeTo"/>.</summary>
    public static (AvailabilityTrace Trace, string? FullPath) ReadAvailability(ConfigReader r, IReadOnlyList<string> hospitals, string relativeTo)
    {
        var path = r.String(AvailabilityTraceKey);
        if (path == None) return (AvailabilityTrace.AlwaysOn, null);
        var full = Path.GetFullPath(path, relativeTo);
        if (!File.Exists(full)) throw r.Error(AvailabilityTraceKey, $"names '{HoconShape.Snippet(full)}', which does not exist");
        try { return (AvailabilityTrace.Load(full, hospitals), full); }
        catch (DataFormatException e) { throw r.Error(AvailabilityTraceKey, $"is not a valid availability trace: {e.Message}"); }
    }

    public static Actors.Simulation.Heterogeneity ReadHeterogeneity(ConfigReader r, IReadOnlyList<string> hospitals)
    {
        var overrides = new List<HospitalSystemOverride>();
        foreach (var h in r.Objects(Heterogeneity + ".hospitals", "{ hospital = hospital-03, speed-factor = 4, bandwidth-mbps = 10 }"))
        {
            h.OnlyFields("a hospital's system properties", "hospital", "speed-factor", "bandwidth-mbps");
            var id = Hospital(h, "hospital", hospitals);
            if (overrides.Any(o => o.HospitalId == id)) throw h.Error("hospital", $"'{HoconShape.Snippet(id)}' is listed twice");
            overrides.Add(new HospitalSystemOverride(id,
                h.Has("speed-factor") ? h.Double("speed-factor", 1e-6, 1e6) : null,
                h.Has("bandwidth-mbps") ? h.Double("bandwidth-mbps", 1e-9, 1e9) : null));
        }
        return new Actors.Simulation.Heterogeneity
        {
            Compute = r.OneOf(Heterogeneity + ".compute-clock", "modelled", "measured") == "measured" ? ComputeClock.Measured : ComputeClock.Modelled,
            SecondsPerStep = r.Double(Heterogeneity + ".seconds-per-step", 0, 1e6),
            SpeedFactor = ReadDistribution(r, DistributionKeys[0]),
            BandwidthMbps = ReadDistribution(r, DistributionKeys[1]),
            Hospitals = overrides,
        };
    }

    /// <summary>
    /// A distribution object. Its fields must be its own parameters, except those set in a lower
    /// layer than the one that chose the distribution (the default's <c>value</c> under a file's
    /// <c>uniform</c>), which are ignored.
    /// </summary>
    private static ValueDistribution ReadDistribution(ConfigReader r, string key)
    {
        var kind = r.OneOf(key + ".distribution", ValueDistribution.Kinds);
        var parameters = DistributionParameters[kind];
        var chosenIn = r.SourceOf(key + ".distribution").Layer;
        foreach (var field in r.Fields(key).Where(f => f != "distribution" && !parameters.Contains(f)))
            if (r.SourceOf($"{key}.{field}").Layer >= chosenIn)
                throw r.Error($"{key}.{field}", $"is not a parameter of a {kind} distribution (parameters: {string.Join(", ", parameters)})");
        // A parameter left out is the fault of whoever chose the distribution.
        var missing = parameters.FirstOrDefault(p => !r.Has($"{key}.{p}"));
        if (missing is not null) throw r.Error(key + ".distribution", $"is {kind}, which needs '{missing}' ({string.Join(", ", parameters)})");
        var values = parameters.Select(p => r.Double($"{key}.{p}", 0, double.MaxValue)).ToArray();
        var distribution = new ValueDistribution(kind, values[0], values.Length > 1 ? values[1] : 0);
        try { distribution.Validate(key); }
        catch (ArgumentException e) { throw r.Error(key + ".distribution", e.Message.Split(" (Parameter")[0].Replace(key + ": ", "")); }
        return distribution;
    }

    /// <summary>The distribution fields to drop from the resolved config: parameters of another distribution than the one chosen.</summary>
    public static IEnumerable<(string Key, string Field)> StaleDistributionFields(ConfigReader r) =>
        DistributionKeys.SelectMany(key =>
        {
            var parameters = DistributionParameters[r.String(key + ".distribution")];
            return r.Fields(key).Where(f => f != "distribution" && !parameters.Contains(f)).Select(f => (key, f));
        });

    private static string Hospital(ConfigReader r, string key, IReadOnlyList<string> hospitals)
    {
        var id = r.String(key);
        if (!hospitals.Contains(id))
            throw r.Error(key, $"'{HoconShape.Snippet(id)}' is not a hospital of this experiment ({hospitals[0]} … {hospitals[^1]})");
        return id;
    }
}
