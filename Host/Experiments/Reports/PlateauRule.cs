namespace FedActors.Host.Reports;

/// <summary>Where validation stopped improving (<see cref="PlateauRule.Find"/>).</summary>
/// <param name="LastGain">The last round whose validation figure beat the best before it by more than ε (the first round counts as a gain).</param>
/// <param name="StopRound">The round at which the rule stops: <paramref name="LastGain"/> + k, when the run reached it; null when it did not.</param>
public sealed record Plateau(int LastGain, int? StopRound)
{
    /// <summary>Whether the run reached the plateau: k evaluated rounds after its last gain, none of them a gain.</summary>
    public bool Reached => StopRound is not null;
}

/// <summary>
/// The plateau rule of the Fed-MAS experiments: stop when validation balanced accuracy has not improved on its best so far
/// by more than ε for k evaluated rounds. Applied after a run to every round's validation figure (classifier.csv), it says
/// whether the run trained long enough and at which round the rule would have stopped it.
/// </summary>
public static class PlateauRule
{
    /// <summary>The rule's default ε: a gain must exceed 0.01 balanced accuracy.</summary>
    public const double DefaultEpsilon = 0.01;

    /// <summary>The rule's default k: 5 evaluated rounds without a gain.</summary>
    public const int DefaultPatience = 5;

    /// <summary>Applies the rule to <paramref name="validation"/>, in round order.</summary>
    /// <param name="validation">(round, validation figure) of every evaluated round, rounds ascending; at least one.</param>
    /// <param name="epsilon">The smallest gain that counts, at least 0.</param>
    /// <param name="patience">k, evaluated rounds without a gain before the rule stops, at least 1.</param>
    /// <exception cref="ArgumentException">No round, rounds not ascending, a NaN figure, ε below 0 or k below 1.</exception>
    public static Plateau Find(IReadOnlyList<(int Round, double Value)> validation, double epsilon = DefaultEpsilon, int patience = DefaultPatience)
    {
        if (validation.Count == 0) throw new ArgumentException("the plateau rule needs at least one evaluated round.", nameof(validation));
        if (!(epsilon >= 0)) throw new ArgumentException($"ε is {epsilon}; it must be at least 0.", nameof(epsilon));
        if (patience < 1) throw new ArgumentException($"k is {patience}; it must be at least 1.", nameof(patience));
        for (var i = 0; i < validation.Count; i++)
        {
            if (double.IsNaN(validation[i].Value)) throw new ArgumentException($"round {validation[i].Round}'s validation figure is missing.", nameof(validation));
            if (i > 0 && validation[i].Round <= validation[i - 1].Round) throw new ArgumentException("rounds must ascend.", nameof(validation));
        }
        var (best, lastGain, since) = (validation[0].Value, 0, 0);
        for (var i = 1; i < validation.Count; i++)
        {
            if (validation[i].Value > best + epsilon) (best, lastGain, since) = (validation[i].Value, i, 0);
            else if (++since == patience) return new Plateau(validation[lastGain].Round, validation[i].Round);
        }
        return new Plateau(validation[lastGain].Round, null);
    }
}
