using static TorchSharp.torch;

namespace FedActors.Training.Objectives;

/// <summary>Fed-MAS's divergence between the local projector and the frozen shared auxiliary encoder.</summary>
public static class FedMasDivergence
{
    /// <summary>
    /// L_f(x) = 2 − 2·cos(p(x), f(x)) on L2-normalised vectors, per sample so callers can
    /// average it per class (W_c, L̂_c of the robust factor) or over the batch (λ·mean L_f).
    /// The same formula as BYOL's loss; f is the frozen auxiliary network, so it gets no gradient.
    /// </summary>
    /// <param name="projected">[B, d_aux] p(x), the local projector's output.</param>
    /// <param name="auxiliary">[B, d_aux] f(x), the auxiliary encoder's pooled features.</param>
    /// <returns>[B]</returns>
    public static Tensor PerSample(Tensor projected, Tensor auxiliary) => ByolLoss.PerSample(projected, auxiliary);
}
