using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace FedActors.Training.Models;

/// <summary>Normalisation a convolutional model uses after each convolution.</summary>
public enum NormKind
{
    /// <summary>BatchNorm2d: the usual choice; its running statistics are buffers that FedAvg averages.</summary>
    Batch,

    /// <summary>
    /// GroupNorm (8 groups): per-image statistics, for momentum-contrast objectives on one
    /// device, where batch statistics shared by a positive pair let the task cheat.
    /// </summary>
    Group,
}

/// <summary>Factories for the normalisation layers the models use, with PyTorch's default initialisation.</summary>
public static class Norms
{
    /// <summary>The number of groups of every GroupNorm (<see cref="NormKind.Group"/>); channel counts must be divisible by it.</summary>
    public const int GroupCount = 8;

    /// <summary>A 2D normalisation of <paramref name="kind"/> over <paramref name="channels"/> channels.</summary>
    /// <param name="kind">Which normalisation.</param>
    /// <param name="channels">The channel count C of the [N, C, H, W] input.</param>
    public static Module<Tensor, Tensor> Create2d(NormKind kind, int channels) => kind switch
    {
        NormKind.Batch => BatchNorm2d(channels),
        NormKind.Group => GroupNormWithDefaults(channels),
        _ => throw new ArgumentOutOfRangeException(nameof(kind), kind, null),
    };

    /// <summary>BatchNorm over [N, C, H, W] (TorchSharp's BatchNorm2d with held Scalars: <see cref="HeldScalarBatchNorm"/>).</summary>
    public static HeldScalarBatchNorm BatchNorm2d(long channels) => new(channels, [4], "BatchNorm2d");

    /// <summary>BatchNorm over [N, C] or [N, C, L] (TorchSharp's BatchNorm1d with held Scalars: <see cref="HeldScalarBatchNorm"/>).</summary>
    public static HeldScalarBatchNorm BatchNorm1d(long features) => new(features, [2, 3], "BatchNorm1d");

    /// <summary>GroupNorm with <see cref="GroupCount"/> groups and PyTorch's initial affine parameters (weight 1, bias 0), which TorchSharp leaves unset.</summary>
    /// <param name="channels">The channel count; must be divisible by <see cref="GroupCount"/> (<see cref="ArgumentException"/> otherwise).</param>
    public static GroupNorm GroupNormWithDefaults(int channels)
    {
        if (channels % GroupCount != 0)
            throw new ArgumentException($"GroupNorm needs a channel count divisible by {GroupCount}, found {channels}.", nameof(channels));
        var norm = GroupNorm(GroupCount, channels);
        // TorchSharp 0.107 leaves GroupNorm's affine parameters uninitialised
        // (torch.empty); set them to PyTorch's defaults.
        using (no_grad())
        {
            norm.weight!.fill_(1);
            norm.bias!.zero_();
        }
        return norm;
    }
}
