using FedActors.Training;
using FedActors.Training.Models;
using FedActors.Training.Weights;
using FedActors.Training.Randomness;
using static TorchSharp.torch;

namespace FedActors.Tests.Training.Models;

public class ResNet18EncoderSpecs
{
    private static ResNet18Encoder Thin(ulong seed, ResNetStem stem = ResNetStem.SmallImage) =>
        TorchRuntime.Seeded(seed, () => new ResNet18Encoder(stem, widthMultiplier: 0.125));

    [Theory]
    [InlineData(ResNetStem.SmallImage, 32)]
    [InlineData(ResNetStem.Standard, 64)]
    public void Should_give_pooled_features_of_FeatureDim(ResNetStem stem, int size)
    {
        using var model = Thin(1, stem);
        using var generator = new Generator(1);
        using var features = model.forward(TorchDraws.Rand(generator, [2, 1, size, size]));
        Assert.Equal(64, model.FeatureDim);
        Assert.Equal([2L, 64], features.shape);
    }

    [Fact]
    public void Should_have_the_parameter_count_of_a_one_channel_ResNet18_without_classifier()
    {
        // torchvision resnet18: 11,689,512 = 11,176,512 backbone + 513,000 fc; its 3-channel 7×7
        // stem has 9,408 weights, a 1-channel one 3,136, a 1-channel 3×3 one 576.
        using var standard = TorchRuntime.Seeded(1, () => new ResNet18Encoder(ResNetStem.Standard));
        using var small = TorchRuntime.Seeded(1, () => new ResNet18Encoder(ResNetStem.SmallImage));
        Assert.Equal(11_176_512 - 9_408 + 3_136, ModuleChecks.ParameterCount(standard));
        Assert.Equal(11_176_512 - 9_408 + 576, ModuleChecks.ParameterCount(small));
        Assert.Equal(512, standard.FeatureDim);
    }

    [Theory]
    [InlineData(28, ResNetStem.SmallImage)]
    [InlineData(64, ResNetStem.SmallImage)]
    [InlineData(96, ResNetStem.Standard)]
    public void Should_pick_the_small_image_stem_up_to_64_pixels(int size, ResNetStem expected) =>
        Assert.Equal(expected, ResNet18Encoder.StemFor(size));

    [Fact]
    public void Should_start_with_identity_batch_norms_and_default_conv_init()
    {
        using var model = Thin(1);
        ModuleChecks.NormsStartAsIdentity(model);
        ModuleChecks.WeightsHaveDefaultInit(model);
    }

    [Fact]
    public void Should_carry_batch_norm_buffers_through_model_weights()
    {
        using var trained = Thin(1);
        using var generator = new Generator(1);
        using (no_grad()) trained.forward(TorchDraws.Rand(generator, [4, 1, 16, 16])); // training mode: running stats move
        var weights = ModelWeights.FromModule(trained);
        Assert.Contains(weights.Tensors, t => t.Name == "layer1.0.bn1.running_mean");
        Assert.Contains(weights.Tensors, t => t.Name == "layer2.0.downsample.1.num_batches_tracked");

        using var fresh = Thin(2);
        weights.LoadInto(fresh);

        Assert.Equal(weights.ContentHash, ModelWeights.FromModule(fresh).ContentHash);
        var counter = fresh.state_dict()["bn1.num_batches_tracked"];
        Assert.Equal(ScalarType.Int64, counter.dtype);
        Assert.Equal(1L, counter.item<long>());
        trained.eval();
        fresh.eval();
        using var images = TorchDraws.Rand(generator, [2, 1, 16, 16]);
        Assert.True(trained.forward(images).allclose(fresh.forward(images)));
    }

    [Fact]
    public void Should_pass_gradients_to_every_parameter()
    {
        using var model = Thin(1);
        using var generator = new Generator(1);
        ModuleChecks.EveryParameterGetsAGradient(model, model.forward(TorchDraws.Rand(generator, [2, 1, 16, 16])).square().mean());
    }
}
