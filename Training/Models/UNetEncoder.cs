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

    /// <summary>Creates the contracting path; build it inside <see cref="TorchRuntime.Seeded"/>.</summary>
    /// <param name="baseWidth">w, the channel count of level 0 (positive); level i has w·2^i.</param>
    /// <param name="depth">The number of downsampling levels below level 0 (at least 1).</param>
    /// <param name="norm">The normalisation of its conv blocks.</param>
    /// <param name="inChannels">Input channels: 1 for grey images, 3 for RGB.</param>
    /// <param name="name">The module's name.</param>
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

    /// <summary>The number of 2×2 max-pool downsamplings; image sides must be divisible by 2^<see cref="Depth"/>.</summary>
    public int Depth => LevelWidths.Count - 1;

    /// <summary>The normalisation its conv blocks use (a matching decoder uses the same).</summary>
    public NormKind Norm { get; }

    /// <summary>The bottleneck's channel count, the width of <see cref="forward"/>'s pooled features.</summary>
    public int FeatureDim => LevelWidths[^1];

    /// <summary>The skips and bottleneck for images [B, C, H, W] with H and W divisible by 2^<see cref="Depth"/> (<see cref="ArgumentException"/> otherwise); the caller owns and disposes the result.</summary>
    /// <param name="images">The input batch.</param>
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

    /// <summary>The bottleneck average-pooled over space: [B, <see cref="FeatureDim"/>].</summary>
    /// <param name="images">The input batch [B, C, H, W].</param>
    public override Tensor forward(Tensor images)
    {
        using var scope = NewDisposeScope();
        return Encode(images).Bottleneck.mean([2, 3]).MoveToOuterDisposeScope();
    }
}
