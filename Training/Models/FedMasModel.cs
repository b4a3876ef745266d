using TorchSharp;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace FedActors.Training.Models;

/// <summary>Fed-MAS's two outputs for a batch: the classifier's logits on pooled features, the projector's, and the projection itself.</summary>
public readonly record struct FedMasOutputs(Tensor Logits, Tensor ProjectedLogits, Tensor Projected);

/// <summary>
/// Fed-MAS's two-head classifier (ALGORITHMS.md §4, the public code's resnet_free): backbone → pooled
/// features x_f → classifier (out_1); the projector p = Linear(d, d) → BN → ReLU → Linear(d, d_aux), the
/// projected encoder's head, → a second classifier (out_2). Every head is federated. <see cref="forward"/>
/// gives out_1, the prediction the global model is judged by. The baselines train the same network on
/// out_1 only, so the comparison is of training rules, not of architectures.
/// </summary>
public sealed class FedMasModel : Module<Tensor, Tensor>
{
    /// <summary>The encoder's field: evaluation finds its tensors as <c>network.*</c>, like the supervised baseline's.</summary>
    public const string Encoder = "network";

    private readonly ProjectedEncoder network;
    private readonly LinearClassifier classifier;
    private readonly LinearClassifier projected_classifier;

    /// <param name="encoder">Backbone and projector; its projection dimension is d_aux, the auxiliary encoder's feature width.</param>
    public FedMasModel(ProjectedEncoder encoder, int classes) : base("fedmas")
    {
        network = encoder;
        classifier = new LinearClassifier(encoder.FeatureDim, classes);
        projected_classifier = new LinearClassifier(encoder.ProjectionDim, classes, "projected_classifier");
        Classes = classes;
        RegisterComponents();
    }

    public int Classes { get; }

    public FedMasOutputs Heads(Tensor images)
    {
        var features = network.Features(images);
        var projected = network.Project(features);
        return new FedMasOutputs(classifier.forward(features), projected_classifier.forward(projected), projected);
    }

    public override Tensor forward(Tensor images) => classifier.forward(network.Features(images));
}
