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

    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        var y = functional.relu(norm1.forward(conv1.forward(x)));
        return functional.relu(norm2.forward(conv2.forward(y))).MoveToOuterDisposeScope();
    }
}
