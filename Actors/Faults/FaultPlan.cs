using FedActors.Training.Randomness;
using FedActors.Training.Weights;

namespace FedActors.Actors.Faults;

/// <summary>When in its round a dropped hospital fails.</summary>
public enum DropoutStage
{
    /// <summary>Crashes on receiving the request: never trains, never answers.</summary>
    BeforeTraining,
    /// <summary>Crashes part-way through training: its work is lost with it, it never answers.</summary>
    DuringTraining,
    /// <summary>Trains and sends its update, which is lost on the way.</summary>
    AfterUpload,
}

/// <summary>The two messages of a round that can be delayed or lost in transit.</summary>
public enum RoundMessage
{
    /// <summary>Coordinator → hospital: the round's request with the global model.</summary>
    Request,
    /// <summary>Hospital → coordinator: the local update.</summary>
    Upload,
}

/// <summary>How an injected corruption spoils an upload before the round's checks see it.</summary>
public enum Corruption
{
    /// <summary>One value of the upload becomes NaN: the finiteness check rejects it.</summary>
    NaN,
    /// <summary>Every value of the upload is multiplied by 1e30: the norm bound rejects it.</summary>
    Scaled,
}

/// <summary>Every selected hospital drops with <paramref name="Probability"/> each round, at a stage drawn from <paramref name="Stages"/>.</summary>
/// <param name="Probability">Chance each selected hospital drops in a round, in [0, 1].</param>
/// <param name="Stages">The stages a drop may happen at, drawn uniformly; at least one.</param>
public sealed record RandomDropout(double Probability, IReadOnlyList<DropoutStage> Stages);

/// <summary>Hospital <paramref name="HospitalId"/> drops in round <paramref name="Round"/>.</summary>
/// <param name="HospitalId">The hospital.</param>
/// <param name="Round">The round, from 1.</param>
/// <param name="Stage">When in the round it fails.</param>
public sealed record ScriptedDrop(string HospitalId, int Round, DropoutStage Stage);

/// <summary>Hospital <paramref name="HospitalId"/> computes <paramref name="Factor"/> times slower from round <paramref name="FromRound"/> on.</summary>
/// <param name="HospitalId">The hospital.</param>
/// <param name="FromRound">The first slowed round, from 1.</param>
/// <param name="Factor">Multiplies its compute time; positive and finite.</param>
public sealed record ScriptedSlowdown(string HospitalId, int FromRound, double Factor);

/// <summary>Hospital <paramref name="HospitalId"/>'s upload in round <paramref name="Round"/> arrives spoilt by <paramref name="Corruption"/>; the round's acceptance checks reject it.</summary>
/// <param name="HospitalId">The hospital.</param>
/// <param name="Round">The round, from 1.</param>
/// <param name="Corruption">How the upload is spoilt.</param>
public sealed record ScriptedCorruption(string HospitalId, int Round, Corruption Corruption);

/// <summary>How a malicious client alters its upload (<see cref="ScriptedMalice"/>).</summary>
public enum MaliceKind
{
    /// <summary>Its change from the global multiplied by a factor: g + f·(θ − g) (a model-replacement or boosting attack).</summary>
    Scaled,
    /// <summary>Its change from the global reversed: g − (θ − g).</summary>
    SignFlipped,
    /// <summary>Gaussian noise of standard deviation σ added to every value, drawn from a generator derived from the experiment seed.</summary>
    Noise,
    /// <summary>One value of its upload NaN (the finiteness check rejects it).</summary>
    NaN,
    /// <summary>It sends again its upload of an earlier round (its last one before this; the global it received, before its first).</summary>
    StaleReplay,
}

/// <summary>
/// Hospital <paramref name="HospitalId"/> is malicious from round <paramref name="FromRound"/> on: its hospital actor alters its
/// upload as <paramref name="Kind"/> says before sending it, so the coordinator sees it as it would a real attacker's (it
/// answers its request, with its token). For testing a method's and an aggregation rule's robustness.
/// </summary>
/// <param name="HospitalId">The hospital.</param>
/// <param name="FromRound">The first round it is malicious in, from 1.</param>
/// <param name="Kind">What it does to its upload.</param>
/// <param name="Parameter">The factor of <see cref="MaliceKind.Scaled"/> (finite, non-zero), σ of <see cref="MaliceKind.Noise"/> (positive, finite); unused by the others.</param>
public sealed record ScriptedMalice(string HospitalId, int FromRound, MaliceKind Kind, double Parameter = 0);

/// <summary>
/// A round's instruction to a malicious hospital, carried by its request: how to alter its upload, with the noise generator's
/// seed (derived from the experiment seed, the round and the hospital).
/// </summary>
/// <param name="Kind">What to do to the upload.</param>
/// <param name="Parameter">The factor or σ (see <see cref="ScriptedMalice.Parameter"/>).</param>
/// <param name="Seed">Seeds the noise of <see cref="MaliceKind.Noise"/>.</param>
public sealed record Malice(MaliceKind Kind, double Parameter, ulong Seed)
{
    /// <summary>What the attacker uploads instead of <paramref name="trained"/>.</summary>
    /// <param name="trained">The weights it honestly trained.</param>
    /// <param name="global">The global model it trained from.</param>
    /// <param name="earlier">Its upload of an earlier round (null: none yet), for <see cref="MaliceKind.StaleReplay"/>.</param>
    public ModelWeights Apply(ModelWeights trained, ModelWeights global, ModelWeights? earlier)
    {
        if (Kind == MaliceKind.StaleReplay) return earlier ?? global;
        var rng = new SeededRandom(Seed);
        var spoilt = false;
        return new ModelWeights(trained.Tensors.Select((t, ti) =>
        {
            var g = global.Tensors[ti].Values;
            var values = (float[])t.Values.Clone();
            for (var i = 0; i < values.Length; i++)
                values[i] = Kind switch
                {
                    MaliceKind.Scaled => (float)(g[i] + Parameter * ((double)values[i] - g[i])),
                    MaliceKind.SignFlipped => (float)(g[i] - ((double)values[i] - g[i])),
                    MaliceKind.Noise => (float)(values[i] + Parameter * rng.NextGaussian()),
                    _ => values[i],
                };
            if (Kind == MaliceKind.NaN && !spoilt && values.Length > 0)
            {
                values[0] = float.NaN;
                spoilt = true;
            }
            return t with { Values = values };
        }).ToList());
    }

    /// <summary>The attack in words, for the events file.</summary>
    public string Describe() => Kind switch
    {
        MaliceKind.Scaled => $"its change from the global scaled by {Parameter:G4}",
        MaliceKind.SignFlipped => "its change from the global sign-flipped",
        MaliceKind.Noise => $"Gaussian noise of σ = {Parameter:G4} added",
        MaliceKind.NaN => "a NaN in its first tensor",
        _ => "its upload of an earlier round sent again",
    };
}

/// <summary>The worker node named <paramref name="Node"/> crashes (its process dies) once round <paramref name="Round"/>'s requests are out. Cluster mode.</summary>
/// <param name="Node">The worker node's name (its <c>--name</c>).</param>
/// <param name="Round">The round, from 1.</param>
public sealed record ScriptedWorkerCrash(string Node, int Round);

/// <summary>The coordinator crashes once round <paramref name="Round"/>'s requests are out, and recovers from its last round snapshot.</summary>
/// <param name="Round">The round, from 1.</param>
public sealed record ScriptedCoordinatorCrash(int Round);

/// <summary>Each <paramref name="Message"/> is lost (<paramref name="Lose"/>) or delayed by <paramref name="DelaySeconds"/> simulated seconds, with <paramref name="Probability"/>.</summary>
/// <param name="Message">Which message of the round: the request or the upload.</param>
/// <param name="Lose">True to lose the message; false to delay it.</param>
/// <param name="Probability">Chance it fires per hospital and round, in [0, 1].</param>
/// <param name="DelaySeconds">Simulated seconds of delay when not lost; positive.</param>
public sealed record MessageFault(RoundMessage Message, bool Lose, double Probability, double DelaySeconds = 0);

/// <summary>What the plan does to one hospital in one round.</summary>
/// <param name="Drop">Set when the hospital drops this round.</param>
/// <param name="DropReason">Why, for the events file.</param>
/// <param name="DropFraction">How far into its round a hospital dropping during training gets (0..1).</param>
/// <param name="SlowFactor">Multiplies its compute time (1: not slowed).</param>
/// <param name="RequestLost">The round's request to the hospital is lost: it never trains, never answers.</param>
/// <param name="RequestDelaySeconds">Simulated seconds added to the request's transit (0: none).</param>
/// <param name="UploadLost">The hospital's update is lost on its way to the coordinator.</param>
/// <param name="UploadDelaySeconds">Simulated seconds added to the upload's transit (0: none).</param>
public sealed record HospitalRoundFaults(
    DropoutStage? Drop, string? DropReason, double DropFraction, double SlowFactor,
    bool RequestLost, double RequestDelaySeconds, bool UploadLost, double UploadDelaySeconds)
{
    /// <summary>No fault: no drop, not slowed, messages neither lost nor delayed.</summary>
    public static HospitalRoundFaults None { get; } = new(null, null, 0, 1, false, 0, false, 0);

    /// <summary>Set when the hospital's upload arrives corrupted this round (<see cref="ScriptedCorruption"/>).</summary>
    public Corruption? Corrupt { get; init; }

    /// <summary>Set when the hospital is malicious this round (<see cref="ScriptedMalice"/>): its request tells it how to alter its upload.</summary>
    public Malice? Malice { get; init; }
}

/// <summary>
/// Injected faults of a run, part of its config. Whether a fault fires for a hospital in a
/// round is drawn from a generator derived from (seed, round, hospital) alone, so the same
/// seed gives the same faults whatever order hospitals answer in, on any node, on replay and
/// after a coordinator restart.
/// </summary>
public sealed record FaultPlan
{
    /// <summary>Random dropout of selected hospitals each round; null: none.</summary>
    public RandomDropout? Dropout { get; init; }
    /// <summary>Scripted drops of given hospitals in given rounds; they win over <see cref="Dropout"/>.</summary>
    public IReadOnlyList<ScriptedDrop> Drops { get; init; } = [];
    /// <summary>Hospitals computing slower from a given round on; several for one hospital multiply.</summary>
    public IReadOnlyList<ScriptedSlowdown> Slowdowns { get; init; } = [];
    /// <summary>Worker nodes crashed in given rounds (cluster mode, by node name).</summary>
    public IReadOnlyList<ScriptedWorkerCrash> WorkerCrashes { get; init; } = [];
    /// <summary>Coordinator crashes in given rounds, each followed by recovery from the last round snapshot.</summary>
    public IReadOnlyList<ScriptedCoordinatorCrash> CoordinatorCrashes { get; init; } = [];
    /// <summary>Random loss or delay of round requests and uploads; several delays of one message add up.</summary>
    public IReadOnlyList<MessageFault> Messages { get; init; } = [];
    /// <summary>Uploads spoilt on arrival, so that the round rejects them (NaN, or scaled by 1e30).</summary>
    public IReadOnlyList<ScriptedCorruption> Corruptions { get; init; } = [];
    /// <summary>Malicious hospitals, each from a given round on, altering their uploads in the hospital (scaled, sign-flipped, noise, NaN, stale replay).</summary>
    public IReadOnlyList<ScriptedMalice> Malicious { get; init; } = [];

    /// <summary>The empty plan: no faults injected.</summary>
    public static FaultPlan None { get; } = new();

    /// <summary>Whether the plan injects nothing at all.</summary>
    public bool IsEmpty => Dropout is null && Drops.Count + Slowdowns.Count + WorkerCrashes.Count + CoordinatorCrashes.Count + Messages.Count + Corruptions.Count + Malicious.Count == 0;

    /// <summary>Checks probabilities are in [0, 1], dropout has a stage, scripted rounds start at 1, slowdown factors and message delays are positive and finite.</summary>
    /// <exception cref="ArgumentException">A fault is invalid; the message names it.</exception>
    public void Validate()
    {
        if (Dropout is { } d)
        {
            if (!(d.Probability >= 0 && d.Probability <= 1)) throw new ArgumentOutOfRangeException(nameof(Dropout), $"dropout probability must be in [0, 1], found {d.Probability}");
            if (d.Stages.Count == 0) throw new ArgumentException("dropout needs at least one stage", nameof(Dropout));
        }
        foreach (var r in Drops.Select(x => x.Round).Concat(Slowdowns.Select(x => x.FromRound)).Concat(WorkerCrashes.Select(x => x.Round)).Concat(CoordinatorCrashes.Select(x => x.Round)).Concat(Corruptions.Select(x => x.Round)).Concat(Malicious.Select(x => x.FromRound)))
            if (r < 1) throw new ArgumentOutOfRangeException(nameof(Drops), $"scripted fault at round {r}: rounds start at 1");
        foreach (var s in Slowdowns)
            if (!(s.Factor > 0 && double.IsFinite(s.Factor))) throw new ArgumentOutOfRangeException(nameof(Slowdowns), $"slowdown of '{s.HospitalId}': factor must be positive, found {s.Factor}");
        foreach (var m in Malicious)
        {
            if (m.Kind == MaliceKind.Scaled && !(double.IsFinite(m.Parameter) && m.Parameter != 0))
                throw new ArgumentOutOfRangeException(nameof(Malicious), $"malicious '{m.HospitalId}': a scaling factor must be finite and non-zero, found {m.Parameter}");
            if (m.Kind == MaliceKind.Noise && !(m.Parameter > 0 && double.IsFinite(m.Parameter)))
                throw new ArgumentOutOfRangeException(nameof(Malicious), $"malicious '{m.HospitalId}': σ must be positive and finite, found {m.Parameter}");
        }
        foreach (var m in Messages)
        {
            if (!(m.Probability >= 0 && m.Probability <= 1)) throw new ArgumentOutOfRangeException(nameof(Messages), $"{m.Message} fault: probability must be in [0, 1], found {m.Probability}");
            if (!m.Lose && !(m.DelaySeconds > 0 && double.IsFinite(m.DelaySeconds))) throw new ArgumentOutOfRangeException(nameof(Messages), $"{m.Message} delay: seconds must be positive, found {m.DelaySeconds}");
        }
    }

    /// <summary>What happens to <paramref name="hospitalId"/> in <paramref name="round"/>; scripted drops win over random dropout.</summary>
    /// <param name="seed">The run's seed; with round and hospital it alone decides the draws.</param>
    /// <param name="round">The round, 1-based.</param>
    /// <param name="hospitalId">The hospital.</param>
    public HospitalRoundFaults For(ulong seed, int round, string hospitalId)
    {
        if (IsEmpty) return HospitalRoundFaults.None;
        // One generator per (round, hospital), drawn in a fixed order: adding a fault kind elsewhere changes nothing here.
        var rng = SeededRandom.Derive(seed, $"faults/round-{round}/{hospitalId}");
        var dropDraw = rng.NextDouble();
        var stageDraw = rng.NextDouble();
        var fraction = rng.NextDouble();
        DropoutStage? drop = null;
        string? reason = null;
        var scripted = Drops.FirstOrDefault(d => d.HospitalId == hospitalId && d.Round == round);
        if (scripted is not null)
        {
            drop = scripted.Stage;
            reason = $"scripted drop {Describe(scripted.Stage)}";
        }
        else if (Dropout is { } random && dropDraw < random.Probability)
        {
            drop = random.Stages[Math.Min((int)(stageDraw * random.Stages.Count), random.Stages.Count - 1)];
            reason = $"random dropout (p = {random.Probability}) {Describe(drop.Value)}";
        }
        var slow = Slowdowns.Where(s => s.HospitalId == hospitalId && s.FromRound <= round).Aggregate(1.0, (f, s) => f * s.Factor);

        var (requestLost, requestDelay, uploadLost, uploadDelay) = (false, 0.0, false, 0.0);
        foreach (var m in Messages)
        {
            var fires = rng.NextDouble() < m.Probability;
            if (!fires) continue;
            switch (m.Message, m.Lose)
            {
                case (RoundMessage.Request, true): requestLost = true; break;
                case (RoundMessage.Request, false): requestDelay += m.DelaySeconds; break;
                case (RoundMessage.Upload, true): uploadLost = true; break;
                default: uploadDelay += m.DelaySeconds; break;
            }
        }
        var corrupt = Corruptions.FirstOrDefault(c => c.HospitalId == hospitalId && c.Round == round)?.Corruption;
        var malice = Malicious.FirstOrDefault(m => m.HospitalId == hospitalId && m.FromRound <= round) is { } bad
            ? new Malice(bad.Kind, bad.Parameter, SeededRandom.DeriveSeed(seed, $"malice/round-{round}/{hospitalId}"))
            : null;
        return new HospitalRoundFaults(drop, reason, fraction, slow, requestLost, requestDelay, uploadLost, uploadDelay) { Corrupt = corrupt, Malice = malice };
    }

    /// <summary>The stage in words for events and logs: <c>before training</c>, <c>during training</c>, <c>after sending its upload</c>.</summary>
    /// <param name="stage">The dropout stage.</param>
    public static string Describe(DropoutStage stage) => stage switch
    {
        DropoutStage.BeforeTraining => "before training",
        DropoutStage.DuringTraining => "during training",
        _ => "after sending its upload",
    };
}
