using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace FedActors.Training.Models;

/// <summary>First layers of a ResNet, before the residual stages.</summary>
public enum ResNetStem
{
    /// <summary>7×7 stride-2 conv and 3×3 stride-2 max-pool: ImageNet-sized inputs (÷4 at once).</summary>
    Standard,

    /// <summary>3×3 stride-1 conv, no max-pool: small images, which ÷4 would shrink to a few pixels.</summary>
    SmallImage,
}

/// <summary>
/// ResNet-18 backbone for single-channel images: stem, four stages of two
/// <see cref="BasicBlock"/>s (widths 64·m, 128·m, 256·m, 512·m; strides 1, 2, 2, 2),
/// global average pooling, no classifier. Input [B, C, H, W]; output [B, <see cref="FeatureDim"/>].
/// Parameter names follow torchvision (conv1, bn1, layer1.0.conv1, …).
/// </summary>
public sealed class ResNet18Encoder : Module<Tensor, Tensor>
{
    /// <summary>Images up to this size get the <see cref="ResNetStem.SmallImage"/> stem from <see cref="StemFor"/>.</summary>
    public const int SmallImageMaxSize = 64;

    private static readonly int[] StageWidths = [64, 128, 256, 512];

    private readonly Conv2d conv1;
    private readonly HeldScalarBatchNorm bn1;
    private readonly Sequential layer1;
    private readonly Sequential layer2;
    private readonly Sequential layer3;
    private readonly Sequential layer4;
    private readonly ResNetStem stem;

    /// <summary>Creates the backbone; build it inside <see cref="TorchRuntime.Seeded"/>.</summary>
    /// <param name="stem">The first layers; <see cref="StemFor"/> picks one by image size.</param>
    /// <param name="widthMultiplier">Scales every stage width (rounded, at least 1); 1 is the standard ResNet-18.</param>
    /// <param name="inChannels">Input channels: 1 for grey images, 3 for RGB.</param>
    /// <param name="name">The module's name.</param>
    public ResNet18Encoder(ResNetStem stem, double widthMultiplier = 1.0, int inChannels = 1, string name = "resnet18") : base(name)
    {
        TorchRuntime.RequireSeeded(nameof(ResNet18Encoder));
        if (widthMultiplier <= 0) throw new ArgumentOutOfRangeException(nameof(widthMultiplier), widthMultiplier, "must be positive");
        var widths = StageWidths.Select(w => Math.Max(1, (int)Math.Round(w * widthMultiplier))).ToArray();
        this.stem = stem;
        conv1 = stem == ResNetStem.Standard
            ? Conv2d(inChannels, widths[0], 7, stride: 2, padding: 3, bias: false)
            : Conv2d(inChannels, widths[0], 3, stride: 1, padding: 1, bias: false);
        bn1 = Norms.BatchNorm2d(widths[0]);
        layer1 = Stage(widths[0], widths[0], 1);
        layer2 = Stage(widths[0], widths[1], 2);
        layer3 = Stage(widths[1], widths[2], 2);
        layer4 = Stage(widths[2], widths[3], 2);
        FeatureDim = widths[3];
        RegisterComponents();
    }

    /// <summary>The output feature width, the last stage's: 512 × width multiplier (rounded).</summary>
    public int FeatureDim { get; }

    /// <summary><see cref="ResNetStem.SmallImage"/> for images up to <see cref="SmallImageMaxSize"/> pixels a side, <see cref="ResNetStem.Standard"/> above.</summary>
    /// <param name="imageSize">The image side in pixels.</param>
    public static ResNetStem StemFor(int imageSize) => imageSize <= SmallImageMaxSize ? ResNetStem.SmallImage : ResNetStem.Standard;

    private static Sequential Stage(int inChannels, int outChannels, int stride) =>
        Sequential(new BasicBlock(inChannels, outChannels, stride), new BasicBlock(outChannels, outChannels, 1));

    /// <summary>Pooled features [B, <see cref="FeatureDim"/>] for images [B, C, H, W].</summary>
    /// <param name="images">The input batch.</param>
    public override Tensor forward(Tensor images)
    {
        using var scope = NewDisposeScope();
        var x = functional.relu(bn1.forward(conv1.forward(images)));
        if (stem == ResNetStem.Standard) x = functional.max_pool2d(x, 3, 2, 1);
        x = layer4.forward(layer3.forward(layer2.forward(layer1.forward(x))));
        return x.mean([2, 3]).MoveToOuterDisposeScope();
    }
}
