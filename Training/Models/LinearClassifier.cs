using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace FedActors.Training.Models;

/// <summary>A single linear layer from features to class logits: [B, d] → [B, classes].</summary>
public sealed class LinearClassifier : Module<Tensor, Tensor>
{
    private readonly Linear fc;

    /// <summary>Creates the layer (field <c>fc</c>); build it inside <see cref="TorchRuntime.Seeded"/>.</summary>
    /// <param name="featureDim">The input feature width d.</param>
    /// <param name="classes">The number of classes (at least 1).</param>
    /// <param name="name">The module's name.</param>
    public LinearClassifier(int featureDim, int classes, string name = "classifier") : base(name)
    {

        TorchRuntime.RequireSeeded(nameof(LinearClassifier));
        if (classes < 1) throw new ArgumentOutOfRangeException(nameof(classes), classes, "must be at least 1");
        fc = Linear(featureDim, classes);
        Classes = classes;
        RegisterComponents();
    }

    /// <summary>The number of classes, the width of the logits.</summary>
    public int Classes { get; }

    /// <summary>The class logits [B, classes] (unnormalised) for features [B, d].</summary>
    /// <param name="features">The input features.</param>
    public override Tensor forward(Tensor features) => fc.forward(features);
}
