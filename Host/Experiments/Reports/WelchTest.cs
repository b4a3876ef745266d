namespace FedActors.Host.Reports;

/// <summary>Welch's unequal-variance t-test of two samples' means.</summary>
/// <param name="Difference">mean(a) − mean(b).</param>
/// <param name="T">Welch's t statistic.</param>
/// <param name="DegreesOfFreedom">The Welch–Satterthwaite degrees of freedom.</param>
/// <param name="P">The two-sided p-value.</param>
public sealed record WelchResult(double Difference, double T, double DegreesOfFreedom, double P)
{
    /// <summary>Whether the means differ at level <paramref name="alpha"/> (two-sided p below it).</summary>
    /// <param name="alpha">The test's level, e.g. 0.05.</param>
    public bool Differs(double alpha = 0.05) => P < alpha;
}

/// <summary>Welch's t-test, the test the Fed-MAS results page uses for "differs": two-sided, p &lt; 0.05.</summary>
public static class WelchTest
{
    /// <summary>Tests whether <paramref name="a"/> and <paramref name="b"/> have the same mean, not assuming equal variances.</summary>
    /// <param name="a">One sample, at least 2 values.</param>
    /// <param name="b">The other, at least 2 values.</param>
    /// <returns>The result; when both samples have zero variance, t is ±∞ (p 0) for different means and 0 (p 1) for equal ones.</returns>
    /// <exception cref="ArgumentException">A sample has fewer than 2 values.</exception>
    public static WelchResult Compare(IReadOnlyList<double> a, IReadOnlyList<double> b)
    {
        if (a.Count < 2 || b.Count < 2) throw new ArgumentException($"Welch's test needs 2 values per sample, found {a.Count} and {b.Count}.");
        var (ma, mb) = (a.Average(), b.Average());
        double Var(IReadOnlyList<double> x, double m) => x.Sum(v => (v - m) * (v - m)) / (x.Count - 1);
        var (sa, sb) = (Var(a, ma) / a.Count, Var(b, mb) / b.Count);
        var difference = ma - mb;
        if (sa + sb == 0) return difference == 0 ? new(0, 0, double.NaN, 1) : new(difference, difference > 0 ? double.PositiveInfinity : double.NegativeInfinity, double.NaN, 0);
        var t = difference / Math.Sqrt(sa + sb);
        var df = (sa + sb) * (sa + sb) / (sa * sa / (a.Count - 1) + sb * sb / (b.Count - 1));
        return new(difference, t, df, TwoSidedP(t, df));
    }

    /// <summary>P(|T| ≥ |t|) for Student's t with <paramref name="df"/> degrees of freedom: I_{df/(df+t²)}(df/2, 1/2).</summary>
    /// <param name="t">The statistic.</param>
    /// <param name="df">Degrees of freedom, above 0.</param>
    public static double TwoSidedP(double t, double df) => RegularizedBeta(df / (df + t * t), df / 2, 0.5);

    /// <summary>The regularised incomplete beta function I_x(a, b), by Lentz's continued fraction.</summary>
    private static double RegularizedBeta(double x, double a, double b)
    {
        if (x <= 0) return 0;
        if (x >= 1) return 1;
        var front = Math.Exp(LogGamma(a + b) - LogGamma(a) - LogGamma(b) + a * Math.Log(x) + b * Math.Log(1 - x));
        return x < (a + 1) / (a + b + 2) ? front * Fraction(x, a, b) / a : 1 - front * Fraction(1 - x, b, a) / b;
    }

    private static double Fraction(double x, double a, double b)
    {
        const double tiny = 1e-300;
        double c = 1, d = 1 - (a + b) * x / (a + 1);
        d = 1 / (Math.Abs(d) < tiny ? tiny : d);
        var h = d;
        for (var m = 1; m <= 300; m++)
        {
            foreach (var numerator in new[] { m * (b - m) * x / ((a + 2 * m - 1) * (a + 2 * m)), -(a + m) * (a + b + m) * x / ((a + 2 * m) * (a + 2 * m + 1)) })
            {
                d = 1 + numerator * d;
                d = 1 / (Math.Abs(d) < tiny ? tiny : d);
                c = 1 + numerator / c;
                if (Math.Abs(c) < tiny) c = tiny;
                h *= d * c;
            }
            if (Math.Abs(d * c - 1) < 1e-15) break;
        }
        return h;
    }

    /// <summary>ln Γ(x) for x &gt; 0 (Lanczos, g = 7).</summary>
    private static double LogGamma(double x)
    {
        double[] g = [0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313, -176.61502916214059,
            12.507343278686905, -0.13857109526572012, 9.9843695780195716e-6, 1.5056327351493116e-7];
        if (x < 0.5) return Math.Log(Math.PI / Math.Abs(Math.Sin(Math.PI * x))) - LogGamma(1 - x);
        x -= 1;
        var sum = g[0];
        for (var i = 1; i < 9; i++) sum += g[i] / (x + i);
        var t = x + 7.5;
        return 0.5 * Math.Log(2 * Math.PI) + (x + 0.5) * Math.Log(t) - t + Math.Log(sum);
    }
}
