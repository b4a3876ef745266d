using FedActors.Training.Weights;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace FedActors.Training.Models;

/// <summary>
/// 2D U-Net for segmentation: a <see cref="UNetEncoder"/> (field <c>encoder</c>, so its
/// weights are <c>encoder.*</c> here) and a <see cref="UNetDecoder"/>. Input
/// [B, C, H, W]; output per-pixel logits [B, classes, H, W].
/// </summary>
public sealed class UNet2D : Module<Tensor, Tensor>
{
    private readonly UNetEncoder encoder;
    private readonly UNetDecoder decoder;

    /// <summary>Creates the U-Net from an encoder and a decoder of the same <see cref="UNetEncoder.LevelWidths"/> (<see cref="ArgumentException"/> otherwise); it owns both from now on.</summary>
    /// <param name="encoder">The contracting path (field <c>encoder</c>).</param>
    /// <param name="decoder">The expanding path (field <c>decoder</c>).</param>
    /// <param name="name">The module's name.</param>
    public UNet2D(UNetEncoder encoder, UNetDecoder decoder, string name = "unet2d") : base(name)
    {
        if (!encoder.LevelWidths.SequenceEqual(decoder.LevelWidths))
            throw new ArgumentException(
                $"Decoder levels [{string.Join(',', decoder.LevelWidths)}] do not match encoder levels [{string.Join(',', encoder.LevelWidths)}].", nameof(decoder));
        this.encoder = encoder;
        this.decoder = decoder;
        RegisterComponents();
    }

    /// <summary>A U-Net around <paramref name="encoder"/> with a fresh decoder of the same levels and norm.</summary>
    /// <param name="encoder">The contracting path, owned by the U-Net from now on.</param>
    /// <param name="classes">The number of segmentation classes (at least 1).</param>
    public UNet2D(UNetEncoder encoder, int classes) : this(encoder, new UNetDecoder(encoder.LevelWidths, classes, encoder.Norm))
    {
    }

    /// <summary>The contracting path (owned by this module), whose weights are <c>encoder.*</c> here.</summary>
    public UNetEncoder Encoder => encoder;

    /// <summary>The number of segmentation classes, the channel count of the logits.</summary>
    public int Classes => decoder.Classes;

    /// <summary>
    /// Loads pre-trained encoder weights (named as in a stand-alone <see cref="UNetEncoder"/>;
    /// take them out of a larger network with <see cref="ModelWeights.Submodule"/>).
    /// The decoder keeps its own initialisation.
    /// </summary>
    public void InitialiseEncoder(ModelWeights encoderWeights) => encoderWeights.LoadInto(encoder);

    /// <summary>Per-pixel logits [B, <see cref="Classes"/>, H, W] for images [B, C, H, W], H and W divisible by 2^depth.</summary>
    /// <param name="images">The input batch.</param>
    public override Tensor forward(Tensor images)
    {
        using var scope = NewDisposeScope();
        return decoder.forward(encoder.Encode(images)).MoveToOuterDisposeScope();
    }
}
