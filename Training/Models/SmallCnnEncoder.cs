using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace FedActors.Training.Models;

/// <summary>
/// Small convolutional backbone for grey (or, with <c>inChannels</c> 3, RGB) images: four 3×3 conv blocks
/// (GroupNorm, ReLU; the last three stride 2) and global average pooling.
/// Input: [B, C, H, W] in [0, 1]; output: [B, <see cref="FeatureDim"/>].
/// GroupNorm rather than BatchNorm: MoCo on one device has no shuffled BN, and batch
/// statistics would let the contrastive task cheat.
/// </summary>
public sealed class SmallCnnEncoder : Module<Tensor, Tensor>
{
    // Fixed input standardisation: [0, 1] grey values → roughly zero mean, unit scale. Held Scalars, never
    // finalised: a number converted at the call could be freed by the finaliser while libtorch reads it (ScalarSafeSgd).
    private static readonly Scalar InputMean = 0.5f.ToScalar(), InputScale = 0.25f.ToScalar();

    private readonly Sequential features;

    /// <summary>Creates the backbone; build it inside <see cref="TorchRuntime.Seeded"/>.</summary>
    /// <param name="widths">The four blocks' channel counts, each positive and divisible by 8 (<see cref="ArgumentException"/> otherwise).</param>
    /// <param name="name">The module's name.</param>
    /// <param name="inChannels">Input channels: 1 for grey images (the default), 3 for RGB.</param>
    public SmallCnnEncoder(int[] widths, string name = "small_cnn", int inChannels = 1) : base(name)
    {

        TorchRuntime.RequireSeeded(nameof(SmallCnnEncoder));
        if (widths.Length != 4 || widths.Any(w => w <= 0 || w % 8 != 0))
            throw new ArgumentException($"SmallCnnEncoder needs 4 positive widths divisible by 8, found [{string.Join(',', widths)}].", nameof(widths));
        FeatureDim = widths[^1];
        var layers = new List<(string, Module<Tensor, Tensor>)>();
        if (inChannels < 1) throw new ArgumentOutOfRangeException(nameof(inChannels), inChannels, "at least one input channel");
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
        features = Sequential(layers);
        RegisterComponents();
    }

    /// <summary>The output feature width: the last block's width.</summary>
    public int FeatureDim { get; }

    /// <summary>Pooled features [B, <see cref="FeatureDim"/>] for images [B, C, H, W] in [0, 1] (standardised inside by (x − 0.5) / 0.25).</summary>
    /// <param name="images">The input batch.</param>
    public override Tensor forward(Tensor images)
    {
        using var scope = NewDisposeScope();
        var x = (images - InputMean) / InputScale;
        return features.forward(x).MoveToOuterDisposeScope();
    }
}
