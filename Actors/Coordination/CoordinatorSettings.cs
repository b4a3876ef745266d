using FedActors.Actors.Faults;
using FedActors.Actors.Rounds;
using FedActors.Actors.Simulation;

namespace FedActors.Actors.Coordination;

/// <summary>What a round does when fewer updates than the minimum are accepted.</summary>
public enum TooFewPolicy
{
    /// <summary>Keep the global model, record the round as skipped, go on to the next.</summary>
    Skip,
    /// <summary>Select further hospitals not yet asked in this round (up to <see cref="CoordinatorSettings.MaxRetries"/> times), then skip.</summary>
    Retry,
}

/// <summary>How rounds are run: how many, who takes part, when a round closes, what is injected.</summary>
public sealed record CoordinatorSettings
{
    /// <summary>Number of federated rounds in the run, at least 1 (<c>fedactors.rounds.count</c>; default 5).</summary>
    public int Rounds { get; init; } = 5;
    /// <summary>Fraction of all hospitals wanted per round (at least <see cref="MinParticipants"/>).</summary>
    public double SampleFraction { get; init; } = 1.0;
    /// <summary>A round aggregates only with at least this many accepted updates.</summary>
    public int MinParticipants { get; init; } = 1;
    /// <summary>… and at least this fraction of the hospitals it wanted (0: no fractional minimum).</summary>
    public double MinParticipantsFraction { get; init; }
    /// <summary>Select k·(1 + x) hospitals and keep the first k to finish on the simulated clock.</summary>
    public double OverSelection { get; init; }
    /// <summary>Simulated seconds after an attempt starts by which an update must arrive (+∞: no deadline).</summary>
    public double DeadlineSeconds { get; init; } = double.PositiveInfinity;
    /// <summary>What a round does when too few updates are accepted (<c>fedactors.rounds.on-too-few</c>: skip, the default, or retry).</summary>
    public TooFewPolicy OnTooFew { get; init; } = TooFewPolicy.Skip;
    /// <summary>Further selections a round may make under <see cref="TooFewPolicy.Retry"/>.</summary>
    public int MaxRetries { get; init; } = 2;
    /// <summary>
    /// Wall-clock safety net for failures nobody injected (a process killed, a node lost):
    /// participants still silent this long after the requests went out count as dropped.
    /// </summary>
    public TimeSpan RoundTimeout { get; init; } = TimeSpan.FromMinutes(10);
    /// <summary>
    /// While a round is open, requests are sent again to participants that have not answered
    /// after this long: a hospital whose node crashed is restarted on a survivor by the next
    /// message, and a hospital that already trained answers again without retraining.
    /// </summary>
    public TimeSpan ResendInterval { get; init; } = TimeSpan.FromSeconds(30);
    /// <summary>Evaluate the global model every k rounds (0: only after the last round).</summary>
    public int EvaluateEvery { get; init; }
    /// <summary>
    /// The seed of every random choice the coordinator makes: client selection per round and attempt, each hospital's
    /// drawn conditions and per-round faults; the same seed replays the same run (the experiment seed, <c>fedactors.seed</c>).
    /// </summary>
    public ulong Seed { get; init; } = 42;

    /// <summary>The faults injected into rounds: dropouts, lost and slow messages, worker and coordinator crashes (<c>fedactors.faults</c>); none by default.</summary>
    public FaultPlan Faults { get; init; } = FaultPlan.None;

    /// <summary>How hospitals' compute speed and network differ, on the simulated clock (<c>fedactors.heterogeneity</c>); all alike by default.</summary>
    public Heterogeneity Heterogeneity { get; init; } = Heterogeneity.Uniform;

    /// <summary>When each hospital is online to be selected (<c>fedactors.faults.availability-trace</c> or <c>fedactors.faults.fedscale-behaviour-trace</c>); always by default.</summary>
    public AvailabilityTrace Availability { get; init; } = AvailabilityTrace.AlwaysOn;
    /// <summary>
    /// Makes the strategy that selects, learns of failures and aggregates, given the rules these settings
    /// configure (<see cref="Rules"/>); null is <see cref="FedAvgStrategy"/>. Called once per coordinator incarnation.
    /// </summary>
    public Func<RoundRules, IRoundStrategy>? Strategy { get; init; }

    /// <summary>
    /// How rounds combine accepted uploads (<c>fedactors.rounds.aggregation</c>, <c>trim-fraction</c>, <c>clip-factor</c>): the method's own
    /// (fedavg, the default) or a robust rule, for methods whose aggregation is a weighted mean. Ignored when <see cref="Strategy"/> is set.
    /// </summary>
    public AggregationRule Aggregation { get; init; } = AggregationRule.FedAvg;

    /// <summary>
    /// Client-level differential privacy (<c>fedactors.rounds.dp-noise-multiplier</c>, <c>dp-clip-norm</c>, <c>dp-delta</c>): off by
    /// default; on, rounds aggregate by <see cref="ClientPrivacy.Aggregate"/> and each round reports ε. Needs <see cref="Aggregation"/>
    /// fedavg. Ignored when <see cref="Strategy"/> is set.
    /// </summary>
    public ClientPrivacy Privacy { get; init; } = ClientPrivacy.Off;

    /// <summary>The bound on an accepted update's change from the global, relative to the round's median (<c>fedactors.rounds.update-norm-bound</c>, <c>update-norm-factor</c>); reject above 10× by default.</summary>
    public UpdateNormBound UpdateNorm { get; init; } = UpdateNormBound.Default;

    /// <summary>
    /// Each hospital's training-shard size, by id, as the coordinator learns it when the run is set up: an update claiming more samples
    /// than its hospital's shard holds is rejected. Null (or a hospital missing): no cap.
    /// </summary>
    public IReadOnlyDictionary<string, int>? ShardSizes { get; init; }

    /// <summary>The round rules these settings configure, as a strategy receives them.</summary>
    public RoundRules Rules => new(SampleFraction, MinParticipants, MinParticipantsFraction, OverSelection, DeadlineSeconds, OnTooFew, MaxRetries);

    /// <summary>This run's strategy: <see cref="Strategy"/>'s, or FedAvg with <see cref="Rules"/>.</summary>
    public IRoundStrategy CreateStrategy() => Strategy?.Invoke(Rules)
        ?? (Privacy.IsOn ? new PrivateStrategy(Rules, Privacy, Seed)
            : Aggregation.Kind == AggregationKind.FedAvg ? new FedAvgStrategy(Rules) : new RobustStrategy(Rules, Aggregation));

    /// <summary>Checks every setting's range, then the fault plan's and the heterogeneity's.</summary>
    /// <exception cref="ArgumentOutOfRangeException">A setting is out of range; the exception names it.</exception>
    public void Validate()
    {
        if (Rounds < 1) throw new ArgumentOutOfRangeException(nameof(Rounds), Rounds, "at least one round");
        if (SampleFraction <= 0 || SampleFraction > 1) throw new ArgumentOutOfRangeException(nameof(SampleFraction), SampleFraction, "must be in (0, 1]");
        if (MinParticipants < 1) throw new ArgumentOutOfRangeException(nameof(MinParticipants), MinParticipants, "at least one participant");
        if (!(MinParticipantsFraction >= 0 && MinParticipantsFraction <= 1)) throw new ArgumentOutOfRangeException(nameof(MinParticipantsFraction), MinParticipantsFraction, "must be in [0, 1]");
        if (!(OverSelection >= 0 && OverSelection <= 10)) throw new ArgumentOutOfRangeException(nameof(OverSelection), OverSelection, "must be in [0, 10]");
        if (!(DeadlineSeconds > 0)) throw new ArgumentOutOfRangeException(nameof(DeadlineSeconds), DeadlineSeconds, "must be positive (+∞ for none)");
        if (MaxRetries < 0) throw new ArgumentOutOfRangeException(nameof(MaxRetries), MaxRetries, "0 or more");
        if (RoundTimeout <= TimeSpan.Zero) throw new ArgumentOutOfRangeException(nameof(RoundTimeout), RoundTimeout, "must be positive");
        if (ResendInterval <= TimeSpan.Zero) throw new ArgumentOutOfRangeException(nameof(ResendInterval), ResendInterval, "must be positive");
        if (EvaluateEvery < 0) throw new ArgumentOutOfRangeException(nameof(EvaluateEvery), EvaluateEvery, "0 or more");
        Aggregation.Validate();
        Privacy.Validate();
        if (Privacy.IsOn && Aggregation.Kind != AggregationKind.FedAvg)
            throw new ArgumentOutOfRangeException("fedactors.rounds.dp-noise-multiplier", Privacy.NoiseMultiplier,
                $"differential privacy adds its noise to the plain mean: set {AggregationRule.Key} to fedavg (it is {AggregationRule.Name(Aggregation.Kind)})");
        UpdateNorm.Validate();
        Faults.Validate();
        Heterogeneity.Validate();
    }
}
