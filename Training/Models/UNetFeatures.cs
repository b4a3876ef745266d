using static TorchSharp.torch;

namespace FedActors.Training.Models;

/// <summary>
/// What a <see cref="UNetEncoder"/> hands its decoder: the feature map of each level above
/// the bottleneck (finest first, [B, w·2^i, H/2^i, W/2^i]) and the bottleneck itself.
/// </summary>
/// <param name="Skips">The feature map of each level above the bottleneck, finest first.</param>
/// <param name="Bottleneck">The coarsest level's feature map, [B, w·2^depth, H/2^depth, W/2^depth].</param>
public sealed record UNetFeatures(IReadOnlyList<Tensor> Skips, Tensor Bottleneck) : IDisposable
{
    /// <summary>Disposes every skip map and the bottleneck.</summary>
    public void Dispose()
    {
        foreach (var skip in Skips) skip.Dispose();
        Bottleneck.Dispose();
    }
}
