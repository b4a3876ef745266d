using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace FedActors.Training.Objectives;

/// <summary>BYOL's regression loss 2 − 2·cos(p, z) between online prediction and target projection.</summary>
public static class ByolLoss
{
    /// <summary>
    /// Per sample, 2 − 2·cos(online_b, target_b) = ‖ô_b − t̂_b‖² of the L2-normalised rows, in [0, 4].
    /// The target is detached (BYOL's stop-gradient): only the online side learns.
    /// </summary>
    /// <returns>[B]</returns>
    public static Tensor PerSample(Tensor online, Tensor target)
    {
        if (!online.shape.SequenceEqual(target.shape) || online.dim() != 2)
            throw new ArgumentException($"Online and target must both be [B, D], found [{string.Join(',', online.shape)}] and [{string.Join(',', target.shape)}].");
        using var scope = NewDisposeScope();
        var cosine = (F.normalize(online, p: 2, dim: 1) * F.normalize(target.detach(), p: 2, dim: 1)).sum(1);
        return (2 - 2 * cosine).MoveToOuterDisposeScope();
    }

    /// <summary>Mean of <see cref="PerSample"/> over the batch.</summary>
    public static Tensor Compute(Tensor prediction, Tensor targetProjection)
    {
        using var scope = NewDisposeScope();
        return PerSample(prediction, targetProjection).mean().MoveToOuterDisposeScope();
    }

    /// <summary>
    /// The symmetrised loss of the BYOL paper: each view's prediction regresses the other
    /// view's target projection, and the two means are summed (so it ranges over [0, 8]).
    /// </summary>
    public static Tensor Symmetrised(Tensor prediction1, Tensor targetProjection2, Tensor prediction2, Tensor targetProjection1)
    {
        using var scope = NewDisposeScope();
        return (Compute(prediction1, targetProjection2) + Compute(prediction2, targetProjection1)).MoveToOuterDisposeScope();
    }
}
