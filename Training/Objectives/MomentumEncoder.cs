using TorchSharp;
using static TorchSharp.torch;

namespace FedActors.Training.Objectives;

/// <summary>The EMA ("momentum") copy of a network that MoCo's key encoder, BYOL's target and FCL's key encoder are.</summary>
public static class MomentumEncoder
{
    /// <summary>Makes <paramref name="copy"/> equal to <paramref name="source"/>: parameters and buffers.</summary>
    public static void CopyFrom(nn.Module copy, nn.Module source)
    {
        using var _ = no_grad();
        foreach (var (c, s) in copy.parameters().Zip(source.parameters())) c.copy_(s);
        foreach (var (c, s) in copy.buffers().Zip(source.buffers())) c.copy_(s);
    }

    /// <summary>θ_copy ← m·θ_copy + (1 − m)·θ_source over the parameters (buffers follow the copy's own forward passes).</summary>
    public static void Follow(nn.Module copy, nn.Module source, double momentum)
    {
        using var _ = no_grad();
        // Held for the whole loop: an implicit Scalar can be finalized while libtorch reads it (see ScalarSafeSgd).
        using var keep = momentum.ToScalar();
        using var take = (1 - momentum).ToScalar();
        foreach (var (c, s) in copy.parameters().Zip(source.parameters())) c.mul_(keep).add_(s, take);
    }
}
