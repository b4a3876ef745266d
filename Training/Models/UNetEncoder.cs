using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace FedActors.Training.Models;

/// <summary>
/// U-Net contracting path, the backbone contrastive pre-training trains and a
/// <see cref="UNet2D"/> later reuses. Level 0 is a <see cref="UNetConvBlock"/> at full
/// resolution of width w; each of the <c>depth</c> further levels halves the size
/// (2×2 max-pool) and doubles the width. <see cref="Encode"/> gives skips + bottleneck;
/// <see cref="forward"/> gives the bottleneck average-pooled, [B, <see cref="FeatureDim"/>],
/// so the encoder can stand in <see cref="ProjectedEncoder"/> like any backbone.
/// Image sides must be divisible by 2^depth (64 and 96 are, for depth ≤ 5).
/// </summary>
public sealed class UNetEncoder : Module<Tensor, Tensor>
{
    private readonly ModuleList<UNetConvBlock> levels;

    public UNetEncoder(int baseWidth = 32, int depth = 4, NormKind norm = NormKind.Batch, int inChannels = 1, string name = "unet_encoder") : base(name)
    {
        if (baseWidth <= 0) throw new ArgumentOutOfRangeException(nameof(baseWidth), baseWidth, "must be positive");
        if (depth < 1) throw new ArgumentOutOfRangeException(nameof(depth), depth, "must be at least 1");
        LevelWidths = Enumerable.Range(0, depth + 1).Select(i => baseWidth << i).ToArray();
        Norm = norm;
        var blocks = new UNetConvBlock[depth + 1];
        for (var i = 0; i <= depth; i++)
            blocks[i] = new UNetConvBlock(i == 0 ? inChannels : LevelWidths[i - 1], LevelWidths[i], norm);
        levels = ModuleList(blocks);
        RegisterComponents();
    }

    /// <summary>Channel count of each level, full resolution first, bottleneck last.</summary>
    public IReadOnlyList<int> LevelWidths { get; }

    public int Depth => LevelWidths.Count - 1;

    public NormKind Norm { get; }

    public int FeatureDim => LevelWidths[^1];

    public UNetFeatures Encode(Tensor images)
    {
        var factor = 1L << Depth;
        if (images.dim() != 4 || images.shape[2] % factor != 0 || images.shape[3] % factor != 0)
            throw new ArgumentException(
                $"UNetEncoder of depth {Depth} needs [B, C, H, W] with H and W divisible by {factor}, found [{string.Join(',', images.shape)}].", nameof(images));
        using var scope = NewDisposeScope();
        var skips = new List<Tensor>(Depth);
        var x = levels[0].forward(images);
        for (var i = 1; i <= Depth; i++)
        {
            skips.Add(x.MoveToOuterDisposeScope());
            x = levels[i].forward(functional.max_pool2d(x, 2));
        }
        return new UNetFeatures(skips, x.MoveToOuterDisposeScope());
    }

    public override Tensor forward(Tensor images)
    {
        using var scope = NewDisposeScope();
        return Encode(images).Bottleneck.mean([2, 3]).MoveToOuterDisposeScope();
    }
}
