using TorchSharp;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace FedActors.Training.Models;

/// <summary>Fed-MAS's two outputs for a batch: the classifier's logits on pooled features, the projector's, and the projection itself.</summary>
/// <param name="Logits">out_1: the classifier's logits on the pooled backbone features, [B, classes].</param>
/// <param name="ProjectedLogits">out_2: the second classifier's logits on the projection, [B, classes].</param>
/// <param name="Projected">The projector's output p(x_f), not normalised, [B, d_aux].</param>
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

    /// <summary>Creates the two-head model around <paramref name="encoder"/>; build it inside <see cref="TorchRuntime.Seeded"/>.</summary>
    /// <param name="encoder">Backbone and projector; its projection dimension is d_aux, the auxiliary encoder's feature width.</param>
    /// <param name="classes">The number of classes of both classifiers (at least 1).</param>
    public FedMasModel(ProjectedEncoder encoder, int classes) : base("fedmas")
    {
        network = encoder;
        classifier = new LinearClassifier(encoder.FeatureDim, classes);
        projected_classifier = new LinearClassifier(encoder.ProjectionDim, classes, "projected_classifier");
        Classes = classes;
        RegisterComponents();
    }

    /// <summary>The number of classes both heads predict.</summary>
    public int Classes { get; }

    /// <summary>Both heads' outputs and the projection for a batch of images [B, C, H, W]; the caller owns (disposes) the tensors.</summary>
    /// <param name="images">The input batch.</param>
    public FedMasOutputs Heads(Tensor images)
    {
        var features = network.Features(images);
        var projected = network.Project(features);
        return new FedMasOutputs(classifier.forward(features), projected_classifier.forward(projected), projected);
    }

    /// <summary>out_1 only: the classifier's logits [B, classes] on the pooled backbone features.</summary>
    /// <param name="images">The input batch [B, C, H, W].</param>
    public override Tensor forward(Tensor images) => classifier.forward(network.Features(images));
}
