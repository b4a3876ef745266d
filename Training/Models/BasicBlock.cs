using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace FedActors.Training.Models;

/// <summary>
/// ResNet basic block: two 3×3 conv + BatchNorm layers with an identity shortcut, or a
/// 1×1 conv + BatchNorm shortcut when the stride or width changes. Field names follow
/// torchvision (conv1, bn1, conv2, bn2, downsample.0/1).
/// </summary>
public sealed class BasicBlock : Module<Tensor, Tensor>
{
    private readonly Conv2d conv1;
    private readonly HeldScalarBatchNorm bn1;
    private readonly Conv2d conv2;
    private readonly HeldScalarBatchNorm bn2;
    private readonly Sequential? downsample;

    /// <summary>Creates the block; build it inside <see cref="TorchRuntime.Seeded"/> (it draws initial weights from torch's global generator).</summary>
    /// <param name="inChannels">Channels of the input.</param>
    /// <param name="outChannels">Channels of the output (the width of both convolutions).</param>
    /// <param name="stride">Stride of the first convolution (and of the shortcut); 2 halves height and width.</param>
    /// <param name="name">The module's name.</param>
    public BasicBlock(int inChannels, int outChannels, int stride, string name = "basic_block") : base(name)
    {

        TorchRuntime.RequireSeeded(nameof(BasicBlock));
        conv1 = Conv2d(inChannels, outChannels, 3, stride: stride, padding: 1, bias: false);
        bn1 = Norms.BatchNorm2d(outChannels);
        conv2 = Conv2d(outChannels, outChannels, 3, padding: 1, bias: false);
        bn2 = Norms.BatchNorm2d(outChannels);
        if (stride != 1 || inChannels != outChannels)
            downsample = Sequential(Conv2d(inChannels, outChannels, 1, stride: stride, bias: false), Norms.BatchNorm2d(outChannels));
        RegisterComponents();
    }

    /// <summary>relu(bn2(conv2(relu(bn1(conv1(x))))) + shortcut(x)): [B, in, H, W] → [B, out, H/stride, W/stride].</summary>
    /// <param name="x">The input feature map; not disposed.</param>
    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        var y = functional.relu(bn1.forward(conv1.forward(x)));
        y = bn2.forward(conv2.forward(y));
        var shortcut = downsample is null ? x : downsample.forward(x);
        return functional.relu(y + shortcut).MoveToOuterDisposeScope();
    }
}
