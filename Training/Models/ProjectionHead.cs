using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace FedActors.Training.Models;

/// <summary>Whether a <see cref="ProjectionHead"/> normalises its hidden layer.</summary>
public enum HeadNorm
{
    /// <summary>Linear → BatchNorm1d → ReLU → Linear: BYOL's projector and predictor, SimCLR's head, Fed-MAS's projector (§4).</summary>
    BatchNorm,

    /// <summary>Linear → ReLU → Linear: MoCo v2's head (ALGORITHMS.md §0), and the methods built on it.</summary>
    None,
}

/// <summary>
/// Two-layer MLP head Linear(d, h) → [BatchNorm1d] → ReLU → Linear(h, out), the norm a constructor choice
/// (<see cref="HeadNorm"/>). With batch-norm (the default): the projection head of SimCLR / BYOL, BYOL's
/// predictor q_θ and Fed-MAS's projector p; training mode then needs batches of more than one sample, and the
/// norm centres features across the batch. Without: MoCo v2's head, Linear–ReLU–Linear.
/// </summary>
public sealed class ProjectionHead : Module<Tensor, Tensor>
{
    private readonly Linear hidden;
    private readonly HeldScalarBatchNorm? norm;
    private readonly Linear output;

    /// <summary>A head of the given widths; call inside a seeded scope (<see cref="TorchRuntime.Seeded"/>).</summary>
    /// <param name="inputDim">d, the width of its input.</param>
    /// <param name="hiddenDim">h, the hidden width.</param>
    /// <param name="outputDim">The output width.</param>
    /// <param name="name">The module's name.</param>
    /// <param name="normalisation">Whether the hidden layer is batch-normalised (its tensors are then <c>norm.*</c>).</param>
    public ProjectionHead(int inputDim, int hiddenDim, int outputDim, string name = "projection", HeadNorm normalisation = HeadNorm.BatchNorm) : base(name)
    {
        TorchRuntime.RequireSeeded(nameof(ProjectionHead));
        hidden = Linear(inputDim, hiddenDim);
        norm = normalisation == HeadNorm.BatchNorm ? Norms.BatchNorm1d(hiddenDim) : null;
        output = Linear(hiddenDim, outputDim);
        Normalisation = normalisation;
        RegisterComponents();
    }

    /// <summary>Whether the hidden layer is batch-normalised.</summary>
    public HeadNorm Normalisation { get; }

    /// <summary>The head on <paramref name="features"/> ([N, d] → [N, out]).</summary>
    /// <param name="features">A batch of input features.</param>
    public override Tensor forward(Tensor features)
    {
        using var scope = NewDisposeScope();
        var h = hidden.forward(features);
        if (norm is not null) h = norm.forward(h);
        return output.forward(functional.relu(h)).MoveToOuterDisposeScope();
    }
}
