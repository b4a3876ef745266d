using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace FedActors.Training.Models;

/// <summary>
/// Two-layer MLP head Linear(d, h) → BatchNorm1d → ReLU → Linear(h, out): the projection
/// head of SimCLR / MoCo v3 (and of our MoCo v2), BYOL's predictor q_θ, and Fed-MAS's
/// projector p. Training mode needs batches of more than one sample. The BatchNorm centres features across the batch: with per-image normalised
/// backbones (GroupNorm) on look-alike medical images, every embedding otherwise starts
/// nearly parallel and MoCo's InfoNCE collapses instead of separating instances.
/// </summary>
public sealed class ProjectionHead : Module<Tensor, Tensor>
{
    private readonly Linear hidden;
    private readonly HeldScalarBatchNorm norm;
    private readonly Linear output;

    public ProjectionHead(int inputDim, int hiddenDim, int outputDim, string name = "projection") : base(name)
    {

        TorchRuntime.RequireSeeded(nameof(ProjectionHead));
        hidden = Linear(inputDim, hiddenDim);
        norm = Norms.BatchNorm1d(hiddenDim);
        output = Linear(hiddenDim, outputDim);
        RegisterComponents();
    }

    public override Tensor forward(Tensor features)
    {
        using var scope = NewDisposeScope();
        return output.forward(functional.relu(norm.forward(hidden.forward(features)))).MoveToOuterDisposeScope();
    }
}
