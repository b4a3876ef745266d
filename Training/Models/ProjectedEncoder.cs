using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace FedActors.Training.Models;

/// <summary>
/// Backbone + projection head, the network contrastive methods train and federate.
/// <see cref="forward"/> gives L2-normalised embeddings; <see cref="Features"/> the
/// backbone's pooled features used downstream.
/// </summary>
public sealed class ProjectedEncoder : Module<Tensor, Tensor>
{
    private readonly Module<Tensor, Tensor> encoder;
    private readonly ProjectionHead projection;

    public ProjectedEncoder(Module<Tensor, Tensor> backbone, int featureDim, int projectionDim, string name = "projected_encoder") : base(name)
    {
        encoder = backbone;
        projection = new ProjectionHead(featureDim, featureDim, projectionDim);
        FeatureDim = featureDim;
        ProjectionDim = projectionDim;
        RegisterComponents();
    }

    public int FeatureDim { get; }
    public int ProjectionDim { get; }

    public Module<Tensor, Tensor> Backbone => encoder;

    public Tensor Features(Tensor images) => encoder.forward(images);

    /// <summary>The projection head on backbone features, not normalised (Fed-MAS's projector output p(x)).</summary>
    public Tensor Project(Tensor features) => projection.forward(features);

    public override Tensor forward(Tensor images)
    {
        using var scope = NewDisposeScope();
        return functional.normalize(projection.forward(encoder.forward(images)), p: 2, dim: 1).MoveToOuterDisposeScope();
    }

    /// <summary>The small-CNN network of the given widths (the default model), for grey or RGB (<paramref name="inChannels"/> 3) images.</summary>
    public static ProjectedEncoder SmallCnn(int[] widths, int projectionDim, int inChannels = 1)
    {
        var backbone = new SmallCnnEncoder(widths, inChannels: inChannels);
        return new ProjectedEncoder(backbone, backbone.FeatureDim, projectionDim);
    }
}
