using FedActors.Training.Randomness;

namespace FedActors.Actors.Simulation;

/// <summary>
/// A named distribution from which each hospital draws one value (its compute speed factor
/// or its bandwidth): <c>constant</c> (value), <c>uniform</c> (min, max) or <c>lognormal</c>
/// (median, sigma of the log).
/// </summary>
public sealed record ValueDistribution(string Kind, double A, double B = 0)
{
    public const string ConstantKind = "constant";
    public const string UniformKind = "uniform";
    public const string LogNormalKind = "lognormal";
    public static readonly string[] Kinds = [ConstantKind, UniformKind, LogNormalKind];

    public static ValueDistribution Constant(double value) => new(ConstantKind, value);
    public static ValueDistribution Uniform(double min, double max) => new(UniformKind, min, max);
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

    public double Sample(SeededRandom rng) => Kind switch
    {
        ConstantKind => A,
        UniformKind => rng.Uniform(A, B),
        LogNormalKind => A * Math.Exp(B * rng.NextGaussian()),
        _ => throw new InvalidOperationException($"unknown distribution '{Kind}'"),
    };

    public override string ToString() => Kind switch
    {
        ConstantKind => $"constant({A})",
        UniformKind => $"uniform({A}, {B})",
        _ => $"lognormal(median {A}, sigma {B})",
    };
}
