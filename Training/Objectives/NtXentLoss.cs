using TorchSharp;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace FedActors.Training.Objectives;

/// <summary>SimCLR's NT-Xent (normalised temperature-scaled cross entropy) over 2N views.</summary>
public static class NtXentLoss
{
    /// <summary>τ used when none is given: 0.5.</summary>
    public const double DefaultTemperature = 0.5;

    /// <summary>
    /// With z the 2N L2-normalised rows of [view1; view2] and s_ij = z_i·z_j/τ, the mean over
    /// all 2N anchors i of −log( exp(s_i,p(i)) / Σ_{j≠i} exp(s_ij) ), p(i) the other view of
    /// the same image. Inputs need not be normalised.
    /// </summary>
    /// <param name="view1">[N, D] embeddings of the first view of each image.</param>
    /// <param name="view2">[N, D] embeddings of the second view, same order.</param>
    /// <param name="temperature">τ, positive; smaller values weigh the hardest negatives more.</param>
    /// <returns>A scalar tensor in the caller's dispose scope, attached to the graph of the inputs.</returns>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="temperature"/> is not positive.</exception>
    /// <exception cref="ArgumentException">The views are not both [N, D] of the same shape.</exception>
    public static Tensor Compute(Tensor view1, Tensor view2, double temperature = DefaultTemperature)
    {
        if (temperature <= 0) throw new ArgumentOutOfRangeException(nameof(temperature), temperature, "must be positive");
        if (!view1.shape.SequenceEqual(view2.shape) || view1.dim() != 2)
            throw new ArgumentException($"Views must both be [N, D], found [{string.Join(',', view1.shape)}] and [{string.Join(',', view2.shape)}].");
        using var scope = NewDisposeScope();
        var n = view1.shape[0];
        var z = F.normalize(cat([view1, view2], 0), p: 2, dim: 1);
        var self = eye(2 * n, dtype: ScalarType.Bool, device: z.device);
        // −∞ drops each anchor's similarity to itself from the denominator.
        using var tau = temperature.ToScalar(); // held for the call (see ScalarSafeSgd)
        var logits = (z.matmul(z.t()) / tau).masked_fill(self, double.NegativeInfinity);
        var partner = cat([arange(n, 2 * n, device: z.device), arange(0, n, device: z.device)], 0);
        return F.cross_entropy(logits, partner).MoveToOuterDisposeScope();
    }
}
