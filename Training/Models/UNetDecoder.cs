using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace FedActors.Training.Models;

/// <summary>
/// U-Net expanding path: per level, a 2×2 stride-2 transposed conv halving the width,
/// concatenation with the encoder's skip of that level and a <see cref="UNetConvBlock"/>;
/// then a 1×1 conv to per-pixel logits [B, classes, H, W].
/// </summary>
public sealed class UNetDecoder : Module<UNetFeatures, Tensor>
{
    private readonly ModuleList<ConvTranspose2d> up;
    private readonly ModuleList<UNetConvBlock> blocks;
    private readonly Conv2d head;

    /// <summary>Creates the expanding path; build it inside <see cref="TorchRuntime.Seeded"/>.</summary>
    /// <param name="levelWidths">The encoder's <see cref="UNetEncoder.LevelWidths"/>.</param>
    /// <param name="classes">The number of segmentation classes (at least 1).</param>
    /// <param name="norm">The normalisation of its conv blocks; match the encoder's.</param>
    /// <param name="name">The module's name.</param>
    public UNetDecoder(IReadOnlyList<int> levelWidths, int classes, NormKind norm = NormKind.Batch, string name = "unet_decoder") : base(name)
    {
        TorchRuntime.RequireSeeded(nameof(UNetDecoder));
        if (levelWidths.Count < 2) throw new ArgumentException("A U-Net decoder needs at least two levels.", nameof(levelWidths));
        if (classes < 1) throw new ArgumentOutOfRangeException(nameof(classes), classes, "must be at least 1");
        LevelWidths = levelWidths.ToArray();
        Classes = classes;
        // Coarsest level first, the order forward visits them.
        var levelsUp = Enumerable.Range(0, levelWidths.Count - 1).Reverse().ToArray();
        up = ModuleList(levelsUp.Select(i => ConvTranspose2d(levelWidths[i + 1], levelWidths[i], 2, stride: 2)).ToArray());
        blocks = ModuleList(levelsUp.Select(i => new UNetConvBlock(2 * levelWidths[i], levelWidths[i], norm)).ToArray());
        head = Conv2d(levelWidths[0], classes, 1);
        RegisterComponents();
    }

    /// <summary>Channel count of each level, full resolution first, bottleneck last (the encoder's).</summary>
    public IReadOnlyList<int> LevelWidths { get; }

    /// <summary>The number of segmentation classes, the channel count of the logits.</summary>
    public int Classes { get; }

    /// <summary>Per-pixel logits [B, <see cref="Classes"/>, H, W] from the encoder's skips and bottleneck, which it does not dispose.</summary>
    /// <param name="features">What <see cref="UNetEncoder.Encode"/> gave; needs one skip per level above the bottleneck.</param>
    public override Tensor forward(UNetFeatures features)
    {
        if (features.Skips.Count != up.Count)
            throw new ArgumentException($"Decoder expects {up.Count} skip maps, found {features.Skips.Count}.", nameof(features));
        using var scope = NewDisposeScope();
        var x = features.Bottleneck;
        for (var k = 0; k < up.Count; k++)
        {
            var skip = features.Skips[features.Skips.Count - 1 - k];
            x = blocks[k].forward(cat([skip, up[k].forward(x)], 1));
        }
        return head.forward(x).MoveToOuterDisposeScope();
    }
}
