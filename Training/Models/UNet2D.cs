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
    public UNet2D(UNetEncoder encoder, int classes) : this(encoder, new UNetDecoder(encoder.LevelWidths, classes, encoder.Norm))
    {
    }

    public UNetEncoder Encoder => encoder;

    public int Classes => decoder.Classes;

    /// <summary>
    /// Loads pre-trained encoder weights (named as in a stand-alone <see cref="UNetEncoder"/>;
    /// take them out of a larger network with <see cref="ModelWeights.Submodule"/>).
    /// The decoder keeps its own initialisation.
    /// </summary>
    public void InitialiseEncoder(ModelWeights encoderWeights) => encoderWeights.LoadInto(encoder);

    public override Tensor forward(Tensor images)
    {
        using var scope = NewDisposeScope();
        return decoder.forward(encoder.Encode(images)).MoveToOuterDisposeScope();
    }
}
