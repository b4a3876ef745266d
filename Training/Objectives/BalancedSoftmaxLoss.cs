using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace FedActors.Training.Objectives;

/// <summary>
/// Balanced softmax (Ren et al. 2020), as Fed-MAS uses it: cross entropy on logits shifted
/// by the log class prior of the client's own data, CE(z + log π, y). Frequent classes must
/// earn a larger margin, so a skewed local label distribution biases the classifier less.
/// </summary>
public static class BalancedSoftmaxLoss
{
    /// <summary>
    /// Prior given to a class with no samples. Not 0, whose log (−∞) would give NaN logits;
    /// this tiny value (log ≈ −18.4) still keeps such a class's softmax share at ~0, so its
    /// logit gets ~no gradient and an absent class is not pushed down locally.
    /// </summary>
    public const double AbsentClassPrior = 1e-8;

    /// <summary>log π_c with π_c = n_c / Σ n, absent classes at <see cref="AbsentClassPrior"/>. [C], float32.</summary>
    public static Tensor LogPrior(IReadOnlyList<long> classCounts, Device? device = null)
    {
        if (classCounts.Count == 0 || classCounts.Any(c => c < 0) || classCounts.All(c => c == 0))
            throw new ArgumentException($"Class counts must be non-negative with at least one sample, found [{string.Join(',', classCounts)}].", nameof(classCounts));
        double total = classCounts.Sum();
        var logs = classCounts.Select(c => (float)Math.Log(c == 0 ? AbsentClassPrior : c / total)).ToArray();
        return tensor(logs, device: device);
    }

    /// <param name="logits">[B, C]</param>
    /// <param name="targets">[B] class indices (int64).</param>
    /// <param name="logPrior">[C] from <see cref="LogPrior"/>.</param>
    public static Tensor Compute(Tensor logits, Tensor targets, Tensor logPrior)
    {
        if (logits.dim() != 2 || logPrior.dim() != 1 || logits.shape[1] != logPrior.shape[0])
            throw new ArgumentException($"Logits [{string.Join(',', logits.shape)}] and log prior [{string.Join(',', logPrior.shape)}] disagree on the class count.");
        using var scope = NewDisposeScope();
        return F.cross_entropy(logits + logPrior, targets).MoveToOuterDisposeScope();
    }
}
