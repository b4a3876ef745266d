using TorchSharp;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace FedActors.Training.Objectives;

/// <summary>Contrastive losses shared by the momentum-encoder methods (MoCo and its federated variants).</summary>
public static class ContrastiveLosses
{
    /// <summary>
    /// MoCo's InfoNCE: mean over queries of
    /// −log( exp(q·k⁺/τ) / (exp(q·k⁺/τ) + Σ_n exp(q·n/τ)) ).
    /// </summary>
    /// <param name="queries">[B, D], L2-normalised.</param>
    /// <param name="positiveKeys">[B, D], row i is query i's positive.</param>
    /// <param name="negatives">[K, D] negative keys (the queue).</param>
    /// <param name="temperature">τ, positive.</param>
    /// <returns>A scalar tensor in the caller's dispose scope, attached to the graph of the inputs.</returns>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="temperature"/> is not positive.</exception>
    public static Tensor InfoNce(Tensor queries, Tensor positiveKeys, Tensor negatives, double temperature)
    {
        if (temperature <= 0) throw new ArgumentOutOfRangeException(nameof(temperature), temperature, "must be positive");
        using var scope = NewDisposeScope();
        var positive = (queries * positiveKeys).sum(1, keepdim: true);
        var negative = queries.matmul(negatives.t());
        using var tau = temperature.ToScalar(); // held for the call (see ScalarSafeSgd)
        var logits = cat([positive, negative], 1) / tau;
        var target = zeros(queries.shape[0], dtype: ScalarType.Int64, device: queries.device);
        return F.cross_entropy(logits, target).MoveToOuterDisposeScope();
    }
}
