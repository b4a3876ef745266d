using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace FedActors.Training.Models;

/// <summary>U-Net's double convolution: (3×3 conv → norm → ReLU) × 2, size preserved.</summary>
public sealed class UNetConvBlock : Module<Tensor, Tensor>
{
    private readonly Conv2d conv1;
    private readonly Module<Tensor, Tensor> norm1;
    private readonly Conv2d conv2;
    private readonly Module<Tensor, Tensor> norm2;

    /// <summary>Creates the block; build it inside <see cref="TorchRuntime.Seeded"/>.</summary>
    /// <param name="inChannels">Channels of the input.</param>
    /// <param name="outChannels">Channels of both convolutions' outputs.</param>
    /// <param name="norm">The normalisation after each convolution.</param>
    /// <param name="name">The module's name.</param>
    public UNetConvBlock(int inChannels, int outChannels, NormKind norm, string name = "unet_conv_block") : base(name)
    {

        TorchRuntime.RequireSeeded(nameof(UNetConvBlock));
        // No conv bias: the norm right after removes it.
        conv1 = Conv2d(inChannels, outChannels, 3, padding: 1, bias: false);
        norm1 = Norms.Create2d(norm, outChannels);
        conv2 = Conv2d(outChannels, outChannels, 3, padding: 1, bias: false);
        norm2 = Norms.Create2d(norm, outChannels);
        RegisterComponents();
    }

    /// <summary>[B, in, H, W] → [B, out, H, W].</summary>
    /// <param name="x">The input feature map; not disposed.</param>
    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        var y = functional.relu(norm1.forward(conv1.forward(x)));
        return functional.relu(norm2.forward(conv2.forward(y))).MoveToOuterDisposeScope();
    }
}
