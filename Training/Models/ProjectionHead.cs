using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace FedActors.Training.Models;

/// <summary>MoCo v2 / SimCLR projection MLP: Linear(d, h) → ReLU → Linear(h, out).</summary>
public sealed class ProjectionHead : Module<Tensor, Tensor>
{
    private readonly Linear hidden;
    private readonly Linear output;

    public ProjectionHead(int inputDim, int hiddenDim, int outputDim, string name = "projection") : base(name)
    {
        hidden = Linear(inputDim, hiddenDim);
        output = Linear(hiddenDim, outputDim);
        RegisterComponents();
    }

    public override Tensor forward(Tensor features)
    {
        using var scope = NewDisposeScope();
        return output.forward(functional.relu(hidden.forward(features))).MoveToOuterDisposeScope();
    }
}
