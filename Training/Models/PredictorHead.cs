using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace FedActors.Training.Models;

/// <summary>
/// Linear(d, h) → BatchNorm1d(h) → ReLU → Linear(h, out): BYOL's predictor q_θ, and the
/// shape of Fed-MAS's projector p. Training mode needs batches of more than one sample.
/// </summary>
public sealed class PredictorHead : Module<Tensor, Tensor>
{
    private readonly Linear hidden;
    private readonly BatchNorm1d norm;
    private readonly Linear output;

    public PredictorHead(int inputDim, int hiddenDim, int outputDim, string name = "predictor") : base(name)
    {
        hidden = Linear(inputDim, hiddenDim);
        norm = BatchNorm1d(hiddenDim);
        output = Linear(hiddenDim, outputDim);
        RegisterComponents();
    }

    public override Tensor forward(Tensor features)
    {
        using var scope = NewDisposeScope();
        return output.forward(functional.relu(norm.forward(hidden.forward(features)))).MoveToOuterDisposeScope();
    }
}
