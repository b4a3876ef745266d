using FedActors.Training.Aggregation;
using FedActors.Training.Methods;

namespace FedActors.Actors.Rounds;

/// <summary>How a round combines its accepted uploads (<c>fedactors.rounds.aggregation</c>).</summary>
public enum AggregationKind
{
    /// <summary>The method's own aggregation (for most methods the sample-weighted mean): the default.</summary>
    FedAvg,
    /// <summary>Each coordinate's median across the uploads, unweighted.</summary>
    Median,
    /// <summary>Each coordinate's mean after cutting ⌊β·n⌋ values from each end, unweighted.</summary>
    TrimmedMean,
    /// <summary>The sample-weighted mean of each upload's change from the global, clipped to a bound relative to the round's median change.</summary>
    ClippedMean,
    /// <summary>(Multi-)Krum: the unweighted mean of the m uploads closest to their n − f − 2 nearest others.</summary>
    Krum,
}

/// <summary>A round's aggregation rule and its parameters.</summary>
/// <param name="Kind">The rule.</param>
/// <param name="TrimFraction">β of <see cref="AggregationKind.TrimmedMean"/>: the fraction cut from each end, in [0, 0.5) (<c>fedactors.rounds.trim-fraction</c>).</param>
/// <param name="ClipFactor">
/// <see cref="AggregationKind.ClippedMean"/>'s bound, as a multiple of the round's median change norm, in (0, 1e6]
/// (<c>fedactors.rounds.clip-factor</c>): 1 clips every change to the median's length.
/// </param>
/// <param name="KrumByzantine"><see cref="AggregationKind.Krum"/>'s f, the attackers it tolerates, in [0, 100000] (<c>fedactors.rounds.krum-byzantine</c>).</param>
/// <param name="KrumSelect"><see cref="AggregationKind.Krum"/>'s m, the uploads it averages, in [1, 100000] (<c>fedactors.rounds.krum-select</c>; 1 is Krum).</param>
public sealed record AggregationRule(AggregationKind Kind = AggregationKind.FedAvg, double TrimFraction = 0.2, double ClipFactor = 1.0,
    int KrumByzantine = 1, int KrumSelect = 1)
{
    /// <summary>The config key that chooses the rule.</summary>
    public const string Key = "fedactors.rounds.aggregation";

    /// <summary>The method's own aggregation.</summary>
    public static AggregationRule FedAvg { get; } = new();

    /// <summary>The rules by their config names.</summary>
    public static IReadOnlyDictionary<string, AggregationKind> Names { get; } = new Dictionary<string, AggregationKind>
    {
        ["fedavg"] = AggregationKind.FedAvg,
        ["median"] = AggregationKind.Median,
        ["trimmed-mean"] = AggregationKind.TrimmedMean,
        ["clipped-mean"] = AggregationKind.ClippedMean,
        ["krum"] = AggregationKind.Krum,
    };

    /// <summary>A rule's config name.</summary>
    public static string Name(AggregationKind kind) => Names.First(n => n.Value == kind).Key;

    /// <summary>Checks the parameters' ranges.</summary>
    /// <exception cref="ArgumentOutOfRangeException">A parameter is out of range; the exception names its key.</exception>
    public void Validate()
    {
        if (!(TrimFraction >= 0 && TrimFraction < 0.5))
            throw new ArgumentOutOfRangeException("fedactors.rounds.trim-fraction", TrimFraction, "must be in [0, 0.5)");
        if (!(ClipFactor > 0 && ClipFactor <= 1e6))
            throw new ArgumentOutOfRangeException("fedactors.rounds.clip-factor", ClipFactor, "must be in (0, 1e6]");
        if (KrumByzantine is < 0 or > 100_000)
            throw new ArgumentOutOfRangeException("fedactors.rounds.krum-byzantine", KrumByzantine, "must be in [0, 100000]");
        if (KrumSelect is < 1 or > 100_000)
            throw new ArgumentOutOfRangeException("fedactors.rounds.krum-select", KrumSelect, "must be in [1, 100000]");
    }
}

/// <summary>What the round does with an accepted update whose change from the global is too large (<c>fedactors.rounds.update-norm-bound</c>).</summary>
public enum UpdateNormMode
{
    /// <summary>No bound (beyond the absolute sanity check against the global's own norm).</summary>
    Off,
    /// <summary>Reject it, with the norms in the reason: the default.</summary>
    Reject,
    /// <summary>Scale its change from the global down to the bound and accept it.</summary>
    Clip,
}

/// <summary>
/// The update-norm bound: an accepted update's change from the global may be at most <paramref name="Factor"/> × the median
/// change of the round's accepted updates. Relative, so it needs no model-specific threshold; a median is what a minority of
/// attackers cannot move. The default (reject above 10×) leaves honest rounds alone: local training from one global
/// gives changes of one order of magnitude.
/// </summary>
/// <param name="Mode">Off, reject or clip (<c>fedactors.rounds.update-norm-bound</c>).</param>
/// <param name="Factor">The bound as a multiple of the median change, in [1, 1e12] (<c>fedactors.rounds.update-norm-factor</c>).</param>
public sealed record UpdateNormBound(UpdateNormMode Mode = UpdateNormMode.Reject, double Factor = 10)
{
    /// <summary>The default: reject above 10 × the round's median change.</summary>
    public static UpdateNormBound Default { get; } = new();

    /// <summary>Checks <see cref="Factor"/>'s range.</summary>
    /// <exception cref="ArgumentOutOfRangeException">It is out of range; the exception names its key.</exception>
    public void Validate()
    {
        if (!(Factor >= 1 && Factor <= 1e12))
            throw new ArgumentOutOfRangeException("fedactors.rounds.update-norm-factor", Factor, "must be in [1, 1e12]");
    }
}

/// <summary>
/// <see cref="FedAvgStrategy"/> with a Byzantine-robust aggregation rule in place of the method's weighted mean: for methods
/// whose aggregation is a weighted mean of the weights (the round engine refuses others). Median and trimmed mean weigh every
/// upload alike (each reported at 1/n); the clipped mean weighs by sample count; Krum reports 1/m for each upload it chose
/// and 0 for the others.
/// </summary>
/// <param name="rules">The round rules.</param>
/// <param name="rule">The aggregation rule; not <see cref="AggregationKind.FedAvg"/>.</param>
public sealed class RobustStrategy(RoundRules rules, AggregationRule rule) : FedAvgStrategy(rules)
{
    /// <summary>The aggregation rule.</summary>
    public AggregationRule Rule { get; } = rule;

    /// <inheritdoc />
    public override ServerAggregate Aggregate(RoundAggregation aggregation)
    {
        var uploads = aggregation.Contributions();
        var n = uploads.Count;
        Dictionary<string, double> Uniform() => uploads.ToDictionary(u => u.Contributor, _ => 1.0 / n, StringComparer.Ordinal);
        switch (Rule.Kind)
        {
            case AggregationKind.Median:
                return new ServerAggregate(RobustAggregation.CoordinateMedian(uploads), Uniform());
            case AggregationKind.TrimmedMean:
                return new ServerAggregate(RobustAggregation.TrimmedMean(uploads, Rule.TrimFraction), Uniform());
            case AggregationKind.ClippedMean:
                var median = RobustAggregation.Median(uploads.Select(u => RobustAggregation.DeltaNorm(u.Weights, aggregation.PreviousGlobal)).ToList());
                if (!(median > 0)) return base.Aggregate(aggregation); // no change to clip against: the weighted mean
                var total = uploads.Sum(u => u.Weight);
                return new ServerAggregate(RobustAggregation.ClippedMean(aggregation.PreviousGlobal, uploads, Rule.ClipFactor * median),
                    uploads.ToDictionary(u => u.Contributor, u => u.Weight / total, StringComparer.Ordinal));
            case AggregationKind.Krum:
                var chosen = RobustAggregation.KrumChoice(uploads, Rule.KrumByzantine, Rule.KrumSelect);
                return new ServerAggregate(RobustAggregation.MultiKrum(uploads, chosen),
                    uploads.Select((u, i) => (u.Contributor, Weight: chosen.Contains(i) ? 1.0 / chosen.Count : 0.0))
                        .ToDictionary(u => u.Contributor, u => u.Weight, StringComparer.Ordinal));
            default:
                return base.Aggregate(aggregation);
        }
    }
}
