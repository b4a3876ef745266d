using FedActors.Training;
using FedActors.Training.Models;
using FedActors.Training.Weights;
using FedActors.Training.Randomness;
using static TorchSharp.torch;

namespace FedActors.Tests.Training.Models;

public class HeadSpecs
{
    [Fact]
    public void Should_build_the_BYOL_predictor_as_linear_batch_norm_relu_linear()
    {
        using var head = TorchRuntime.Seeded(1, () => new ProjectionHead(16, 32, 8, "predictor"));
        ModuleChecks.NormsStartAsIdentity(head);
        ModuleChecks.WeightsHaveDefaultInit(head);
        Assert.Equal(
            ["hidden.bias", "hidden.weight", "norm.bias", "norm.num_batches_tracked", "norm.running_mean", "norm.running_var",
             "norm.weight", "output.bias", "output.weight"],
            ModelWeights.FromModule(head).Tensors.Select(t => t.Name).Order());

        using var generator = new Generator(1);
        using var output = head.forward(TorchDraws.Rand(generator, [4, 16]));
        Assert.Equal([4L, 8], output.shape);
    }

    [Fact]
    public void Should_map_features_to_class_logits()
    {
        using var classifier = TorchRuntime.Seeded(1, () => new LinearClassifier(16, 5));
        using var generator = new Generator(1);
        using var logits = classifier.forward(TorchDraws.Rand(generator, [3, 16]));
        Assert.Equal([3L, 5], logits.shape);
        Assert.Equal(16 * 5 + 5, ModuleChecks.ParameterCount(classifier));
    }

    [Fact]
    public void Should_pass_gradients_through_the_predictor()
    {
        using var head = TorchRuntime.Seeded(1, () => new ProjectionHead(8, 16, 4, "predictor"));
        // Training-mode BatchNorm subtracts the batch mean, so the bias before it has no effect.
        using var generator = new Generator(1);
        ModuleChecks.EveryParameterGetsAGradient(head, head.forward(TorchDraws.Rand(generator, [4, 8])).square().mean(), zeroByDesign: "hidden.bias");
    }
}
