using FedActors.Training.Randomness;

namespace FedActors.Actors.Simulation;

/// <summary>
/// A named distribution from which each hospital draws one value (its compute speed factor
/// or its bandwidth): <c>constant</c> (value), <c>uniform</c> (min, max) or <c>lognormal</c>
/// (median, sigma of the log).
/// </summary>
/// <param name="Kind"><see cref="ConstantKind"/>, <see cref="UniformKind"/> or <see cref="LogNormalKind"/>.</param>
/// <param name="A">The constant value, the uniform minimum, or the log-normal median.</param>
/// <param name="B">The uniform maximum, or the log-normal sigma (standard deviation of the log); unused by a constant.</param>
public sealed record ValueDistribution(string Kind, double A, double B = 0)
{
    /// <summary>The kind name of a constant: every hospital gets <see cref="A"/>.</summary>
    public const string ConstantKind = "constant";
    /// <summary>The kind name of a uniform draw from [<see cref="A"/>, <see cref="B"/>].</summary>
    public const string UniformKind = "uniform";
    /// <summary>The kind name of a log-normal draw with median <see cref="A"/> and log standard deviation <see cref="B"/>.</summary>
    public const string LogNormalKind = "lognormal";
    /// <summary>Every kind name, as configs may give them.</summary>
    public static readonly string[] Kinds = [ConstantKind, UniformKind, LogNormalKind];

    /// <summary>Every hospital gets <paramref name="value"/> (positive, finite).</summary>
    /// <param name="value">The value.</param>
    public static ValueDistribution Constant(double value) => new(ConstantKind, value);
    /// <summary>Each hospital draws uniformly from [<paramref name="min"/>, <paramref name="max"/>] (0 &lt; min ≤ max).</summary>
    /// <param name="min">The lower bound.</param>
    /// <param name="max">The upper bound.</param>
    public static ValueDistribution Uniform(double min, double max) => new(UniformKind, min, max);
    /// <summary>Each hospital draws <paramref name="median"/> × exp(<paramref name="sigma"/> × N(0, 1)).</summary>
    /// <param name="median">The median, positive.</param>
    /// <param name="sigma">The standard deviation of the log, not negative.</param>
    public static ValueDistribution LogNormal(double median, double sigma) => new(LogNormalKind, median, sigma);

    /// <summary>Checks the parameters; <paramref name="what"/> names the setting in the error.</summary>
    public void Validate(string what)
    {
        switch (Kind)
        {
            case ConstantKind when !(A > 0 && double.IsFinite(A)):
                throw new ArgumentOutOfRangeException(what, $"{what}: constant value must be positive and finite, found {A}");
            case UniformKind when !(A > 0 && B >= A && double.IsFinite(B)):
                throw new ArgumentOutOfRangeException(what, $"{what}: uniform needs 0 < min <= max, found min {A}, max {B}");
            case LogNormalKind when !(A > 0 && B >= 0 && double.IsFinite(A) && double.IsFinite(B)):
                throw new ArgumentOutOfRangeException(what, $"{what}: lognormal needs median > 0 and sigma >= 0, found median {A}, sigma {B}");
            case ConstantKind or UniformKind or LogNormalKind:
                return;
            default:
                throw new ArgumentOutOfRangeException(what, $"{what}: unknown distribution '{Kind}' (expected {string.Join(", ", Kinds)})");
        }
    }

    /// <summary>Draws one value from <paramref name="rng"/> (a constant draws nothing).</summary>
    /// <param name="rng">The generator, derived per hospital so draws replay.</param>
    /// <exception cref="InvalidOperationException"><see cref="Kind"/> is unknown.</exception>
    public double Sample(SeededRandom rng) => Kind switch
    {
        ConstantKind => A,
        UniformKind => rng.Uniform(A, B),
        LogNormalKind => A * Math.Exp(B * rng.NextGaussian()),
        _ => throw new InvalidOperationException($"unknown distribution '{Kind}'"),
    };

    /// <summary>The distribution as written in logs: <c>constant(1)</c>, <c>uniform(0.5, 2)</c>, <c>lognormal(median 1, sigma 0.5)</c>.</summary>
    public override string ToString() => Kind switch
    {
        ConstantKind => $"constant({A})",
        UniformKind => $"uniform({A}, {B})",
        _ => $"lognormal(median {A}, sigma {B})",
    };
}
