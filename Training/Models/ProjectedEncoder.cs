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

    /// <summary>Creates the network: <paramref name="backbone"/> followed by a fresh <see cref="ProjectionHead"/>(d, d, projection); build it inside <see cref="TorchRuntime.Seeded"/>.</summary>
    /// <param name="backbone">Images [B, C, H, W] → pooled features [B, <paramref name="featureDim"/>]; owned by this module from now on (field <c>encoder</c>).</param>
    /// <param name="featureDim">The backbone's feature width d.</param>
    /// <param name="projectionDim">The embedding width of the projection head.</param>
    /// <param name="name">The module's name.</param>
    /// <param name="headNorm">Whether the projection head batch-normalises its hidden layer (MoCo v2's does not).</param>
    public ProjectedEncoder(Module<Tensor, Tensor> backbone, int featureDim, int projectionDim, string name = "projected_encoder", HeadNorm headNorm = HeadNorm.BatchNorm) : base(name)
    {
        encoder = backbone;
        projection = new ProjectionHead(featureDim, featureDim, projectionDim, normalisation: headNorm);
        FeatureDim = featureDim;
        ProjectionDim = projectionDim;
        RegisterComponents();
    }

    /// <summary>The backbone's pooled feature width d.</summary>
    public int FeatureDim { get; }
    /// <summary>The projection head's output width, the embedding dimension.</summary>
    public int ProjectionDim { get; }

    /// <summary>The backbone alone (owned by this module), which downstream evaluation probes and fine-tunes.</summary>
    public Module<Tensor, Tensor> Backbone => encoder;

    /// <summary>The projection head.</summary>
    public ProjectionHead Head => projection;

    /// <summary>The backbone's pooled features [B, <see cref="FeatureDim"/>] for images [B, C, H, W]; no projection.</summary>
    /// <param name="images">The input batch.</param>
    public Tensor Features(Tensor images) => encoder.forward(images);

    /// <summary>The projection head on backbone features, not normalised (Fed-MAS's projector output p(x)).</summary>
    public Tensor Project(Tensor features) => projection.forward(features);

    /// <summary>The L2-normalised embeddings [B, <see cref="ProjectionDim"/>] for images [B, C, H, W].</summary>
    /// <param name="images">The input batch.</param>
    public override Tensor forward(Tensor images)
    {
        using var scope = NewDisposeScope();
        return functional.normalize(projection.forward(encoder.forward(images)), p: 2, dim: 1).MoveToOuterDisposeScope();
    }

    /// <summary>The small-CNN network of the given widths (the default model), for grey or RGB (<paramref name="inChannels"/> 3) images.</summary>
    /// <param name="widths">The <see cref="SmallCnnEncoder"/>'s four block widths, each positive and divisible by 8; the last is the feature width d.</param>
    /// <param name="projectionDim">The embedding width of the projection head.</param>
    /// <param name="inChannels">Input channels: 1 for grey images (the default), 3 for RGB.</param>
    /// <param name="headNorm">Whether the projection head batch-normalises its hidden layer.</param>
    public static ProjectedEncoder SmallCnn(int[] widths, int projectionDim, int inChannels = 1, HeadNorm headNorm = HeadNorm.BatchNorm)
    {
        var backbone = new SmallCnnEncoder(widths, inChannels: inChannels);
        return new ProjectedEncoder(backbone, backbone.FeatureDim, projectionDim, headNorm: headNorm);
    }
}
