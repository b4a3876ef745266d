namespace FedActors.Training.Privacy;

/// <summary>
/// The Rényi-DP accountant of the sampled Gaussian mechanism (Mironov, Talwar and Zhang, 2019), at integer orders, and
/// its conversion to (ε, δ)-DP (Canonne, Kamath and Steinke, 2020; the conversion TensorFlow Privacy uses). A round of
/// client-level DP-FedAvg is one step: each client is in the round with probability q, and the sum of the clipped
/// updates gets Gaussian noise of σ = z · S. Pure functions, in double, log-space where terms can overflow.
/// </summary>
public static class RdpAccountant
{
    /// <summary>The orders searched by default: 2 to 64, 128 and 256.</summary>
    public static IReadOnlyList<int> DefaultOrders { get; } = [.. Enumerable.Range(2, 63), 128, 256];

    /// <summary>
    /// ε(α) of one step of the sampled Gaussian mechanism: log A_α / (α − 1), with
    /// A_α = Σ_{k=0}^{α} C(α, k) (1 − q)^{α−k} q^k exp((k² − k) / (2 z²)). q = 1 is the plain Gaussian mechanism, α / (2 z²);
    /// q = 0 releases nothing, 0.
    /// </summary>
    /// <param name="q">The probability that a client takes part in a step, in [0, 1].</param>
    /// <param name="noiseMultiplier">z, the noise's standard deviation over the clipping norm; positive.</param>
    /// <param name="order">α, an integer of at least 2.</param>
    public static double SampledGaussianRdp(double q, double noiseMultiplier, int order)
    {
        if (!(q >= 0 && q <= 1)) throw new ArgumentOutOfRangeException(nameof(q), q, "the sampling probability must be in [0, 1]");
        if (!(noiseMultiplier > 0)) throw new ArgumentOutOfRangeException(nameof(noiseMultiplier), noiseMultiplier, "the noise multiplier must be positive");
        if (order < 2) throw new ArgumentOutOfRangeException(nameof(order), order, "integer orders from 2");
        if (q == 0) return 0;
        if (q == 1) return order / (2 * noiseMultiplier * noiseMultiplier);
        var logA = double.NegativeInfinity;
        double logBinomial = 0; // log C(α, k), built up term by term
        for (var k = 0; k <= order; k++)
        {
            if (k > 0) logBinomial += Math.Log(order - k + 1) - Math.Log(k);
            var term = logBinomial + k * Math.Log(q) + (order - k) * Math.Log(1 - q) + (k * (double)k - k) / (2 * noiseMultiplier * noiseMultiplier);
            logA = LogAdd(logA, term);
        }
        return logA / (order - 1);
    }

    /// <summary>
    /// The smallest ε at which the composition is (ε, δ)-DP, over the orders given: min over α of
    /// ε(α) + log(1 − 1/α) − (log δ + log α) / (α − 1), and the order that gives it; never below 0.
    /// </summary>
    /// <param name="rdp">ε(α) of the whole composition at each integer order α ≥ 2.</param>
    /// <param name="delta">δ, in (0, 1).</param>
    public static (double Epsilon, int Order) Epsilon(IReadOnlyList<(int Order, double Rdp)> rdp, double delta)
    {
        if (!(delta > 0 && delta < 1)) throw new ArgumentOutOfRangeException(nameof(delta), delta, "δ must be in (0, 1)");
        if (rdp.Count == 0) throw new ArgumentException("No orders to convert from.", nameof(rdp));
        var best = (Epsilon: double.PositiveInfinity, Order: rdp[0].Order);
        foreach (var (order, value) in rdp)
        {
            if (order < 2) throw new ArgumentOutOfRangeException(nameof(rdp), order, "integer orders from 2");
            var epsilon = value + double.LogP1(-1.0 / order) - (Math.Log(delta) + Math.Log(order)) / (order - 1);
            if (epsilon < best.Epsilon) best = (epsilon, order);
        }
        return (Math.Max(0, best.Epsilon), best.Order);
    }

    /// <summary>
    /// (ε, δ) after <paramref name="steps"/> steps of the sampled Gaussian mechanism (RDP adds up over steps), over
    /// <see cref="DefaultOrders"/> unless <paramref name="orders"/> are given; 0 steps spend nothing.
    /// </summary>
    /// <param name="q">The probability that a client takes part in a step, in [0, 1].</param>
    /// <param name="noiseMultiplier">z; positive.</param>
    /// <param name="steps">The steps (rounds) so far; at least 0.</param>
    /// <param name="delta">δ, in (0, 1).</param>
    /// <param name="orders">Integer orders of at least 2 to search.</param>
    public static (double Epsilon, int Order) Epsilon(double q, double noiseMultiplier, int steps, double delta, IReadOnlyList<int>? orders = null)
    {
        if (steps < 0) throw new ArgumentOutOfRangeException(nameof(steps), steps, "at least 0 steps");
        orders ??= DefaultOrders;
        if (steps == 0) return (0, orders[0]);
        return Epsilon(orders.Select(a => (a, steps * SampledGaussianRdp(q, noiseMultiplier, a))).ToList(), delta);
    }

    private static double LogAdd(double a, double b)
    {
        if (double.IsNegativeInfinity(a)) return b;
        if (double.IsNegativeInfinity(b)) return a;
        var (hi, lo) = a > b ? (a, b) : (b, a);
        return hi + double.LogP1(Math.Exp(lo - hi));
    }
}
