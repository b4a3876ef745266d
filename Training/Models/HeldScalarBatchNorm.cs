using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace FedActors.Training.Models;

/// <summary>
/// TorchSharp's BatchNorm (1d or 2d: the same parameters, buffers, names and numbers) whose training-mode
/// forward advances <c>num_batches_tracked</c> with held Scalars. TorchSharp 0.107's own advances it with
/// <c>add_(1)</c>: two Scalars converted at the call, which a collection on another thread can finalise
/// while libtorch reads them (a spec failed with "argument alpha must not be a floating point number"),
/// the race <see cref="Objectives.ScalarSafeSgd"/> describes. Build it with <see cref="Norms"/>.
/// </summary>
public sealed class HeldScalarBatchNorm : BatchNorm
{
    // Never finalised: static, so libtorch can always read them.
    private static readonly Scalar One = 1L.ToScalar();

    private readonly int[] _inputDimensions;

    internal HeldScalarBatchNorm(long features, int[] inputDimensions, string name)
        : base(features, 1e-5, 0.1, affine: true, track_running_stats: true, device: null, dtype: null, name)
    {
        _inputDimensions = inputDimensions;
    }

    /// <inheritdoc />
    protected override void ValidateInputDimensions(Tensor input)
    {
        if (!_inputDimensions.Contains((int)input.ndim))
            throw new ArgumentException($"expected {string.Join(" or ", _inputDimensions.Select(d => $"{d}D"))} input, but got {input.ndim}D input.");
    }

    /// <inheritdoc />
    public override Tensor forward(Tensor input)
    {
        ValidateInputDimensions(input);
        var factor = momentum ?? 0.0;
        if (training && track_running_stats && num_batches_tracked is { } tracked)
        {
            tracked.add_(One, One);
            // PyTorch's rule: no momentum means a cumulative average over the batches seen.
            if (momentum is null) factor = 1.0 / tracked.item<long>();
        }
        var useBatchStatistics = training || running_mean is null || running_var is null;
        var keepStatistics = !training || track_running_stats;
        return F.batch_norm(input, keepStatistics ? running_mean : null, keepStatistics ? running_var : null, weight, bias,
            useBatchStatistics, factor, eps);
    }
}
