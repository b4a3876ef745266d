using static TorchSharp.torch;

namespace FedActors.Training.Models;

/// <summary>
/// What a <see cref="UNetEncoder"/> hands its decoder: the feature map of each level above
/// the bottleneck (finest first, [B, w·2^i, H/2^i, W/2^i]) and the bottleneck itself.
/// </summary>
public sealed record UNetFeatures(IReadOnlyList<Tensor> Skips, Tensor Bottleneck) : IDisposable
{
    public void Dispose()
    {
        foreach (var skip in Skips) skip.Dispose();
        Bottleneck.Dispose();
    }
}
