using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace FedActors.Training.Models;

/// <summary>
/// Small convolutional backbone for single-channel images: four 3×3 conv blocks
/// (GroupNorm, ReLU; the last three stride 2) and global average pooling.
/// Input: [B, 1, H, W] in [0, 1]; output: [B, <see cref="FeatureDim"/>].
/// GroupNorm rather than BatchNorm: MoCo on one device has no shuffled BN, and batch
/// statistics would let the contrastive task cheat.
/// </summary>
public sealed class SmallCnnEncoder : Module<Tensor, Tensor>
{
    // Fixed input standardisation: [0, 1] grey values → roughly zero mean, unit scale.
    private const float InputMean = 0.5f, InputScale = 0.25f;

    private readonly Sequential features;

    public SmallCnnEncoder(int[] widths, string name = "small_cnn") : base(name)
    {
        if (widths.Length != 4 || widths.Any(w => w <= 0 || w % 8 != 0))
            throw new ArgumentException($"SmallCnnEncoder needs 4 positive widths divisible by 8, found [{string.Join(',', widths)}].", nameof(widths));
        FeatureDim = widths[^1];
        var layers = new List<(string, Module<Tensor, Tensor>)>();
        var inChannels = 1;
        for (var i = 0; i < widths.Length; i++)
        {
            var last = i == widths.Length - 1;
            layers.Add(($"conv{i}", Conv2d(inChannels, widths[i], 3, stride: i == 0 ? 1 : 2, padding: 1, bias: last)));
            // No norm on the last block: GroupNorm fixes each sample's per-group mean, and
            // average pooling right after it would throw most of the feature away.
            if (!last) layers.Add(($"norm{i}", Norms.GroupNormWithDefaults(widths[i])));
            layers.Add(($"relu{i}", ReLU(inplace: true)));
            inChannels = widths[i];
        }
        layers.Add(("pool", AdaptiveAvgPool2d(1)));
        layers.Add(("flatten", Flatten()));
        layers.Add(("standardize", new RunningStandardizer(FeatureDim)));
        features = Sequential(layers);
        RegisterComponents();
    }

    public int FeatureDim { get; }

    public override Tensor forward(Tensor images)
    {
        using var scope = NewDisposeScope();
        var x = (images - InputMean) / InputScale;
        return features.forward(x).MoveToOuterDisposeScope();
    }
}

/// <summary>
/// Per-feature standardisation by running (EMA) mean and variance, BatchNorm's eval
/// path used in training too. Why: GroupNorm normalises each image on its own, so the
/// pooled features of similar images share a large common offset and differ by ~5 %;
/// the L2-normalised embeddings then all point the same way and InfoNCE has no gradient
/// to start from. Removing the offset across samples restores the spread that BatchNorm
/// gives MoCo's ResNet. Training uses the statistics of earlier batches only (the first
/// batch seeds them), so no batch statistic a positive pair shares enters the forward.
/// Stats are buffers: they travel with the weights and are averaged by FedAvg.
/// </summary>
public sealed class RunningStandardizer : Module<Tensor, Tensor>
{
    private const double Momentum = 0.1, Epsilon = 1e-5;

    private readonly Tensor running_mean;
    private readonly Tensor running_var;
    private readonly Tensor batches_seen;

    public RunningStandardizer(int features, string name = "running_standardizer") : base(name)
    {
        running_mean = zeros(features);
        running_var = ones(features);
        batches_seen = zeros(1);
        RegisterComponents();
    }

    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        if (training && x.shape[0] > 1)
        {
            Tensor mean, variance;
            using (no_grad())
            {
                var (batchMean, batchVar) = (x.mean([0]), x.var(0));
                if (batches_seen.item<float>() == 0)
                {
                    running_mean.copy_(batchMean);
                    running_var.copy_(batchVar);
                }
                (mean, variance) = (running_mean.clone(), running_var.clone());
                running_mean.mul_(1 - Momentum).add_(batchMean, alpha: Momentum);
                running_var.mul_(1 - Momentum).add_(batchVar, alpha: Momentum);
                batches_seen.add_(1);
            }
            return ((x - mean) / (variance + Epsilon).sqrt()).MoveToOuterDisposeScope();
        }
        return ((x - running_mean) / (running_var + Epsilon).sqrt()).MoveToOuterDisposeScope();
    }
}
