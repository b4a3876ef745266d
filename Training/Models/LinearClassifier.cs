using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace FedActors.Training.Models;

/// <summary>A single linear layer from features to class logits: [B, d] → [B, classes].</summary>
public sealed class LinearClassifier : Module<Tensor, Tensor>
{
    private readonly Linear fc;

    public LinearClassifier(int featureDim, int classes, string name = "classifier") : base(name)
    {

        TorchRuntime.RequireSeeded(nameof(LinearClassifier));
        if (classes < 1) throw new ArgumentOutOfRangeException(nameof(classes), classes, "must be at least 1");
        fc = Linear(featureDim, classes);
        Classes = classes;
        RegisterComponents();
    }

    public int Classes { get; }

    public override Tensor forward(Tensor features) => fc.forward(features);
}
