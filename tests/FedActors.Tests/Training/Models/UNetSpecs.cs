using FedActors.Training;
using FedActors.Training.Models;
using FedActors.Training.Weights;
using FedActors.Training.Randomness;
using static TorchSharp.torch;

namespace FedActors.Tests.Training.Models;

public class UNetSpecs
{
    private static UNetEncoder Encoder(ulong seed, NormKind norm = NormKind.Batch) =>
        TorchRuntime.Seeded(seed, () => new UNetEncoder(baseWidth: 8, depth: 3, norm));

    [Theory]
    [InlineData(64)]
    [InlineData(96)]
    public void Should_give_skips_bottleneck_and_pooled_features(int size)
    {
        using var encoder = Encoder(1);
        using var generator = new Generator(1);
        using var images = TorchDraws.Rand(generator, [2, 1, size, size]);
        using var features = encoder.Encode(images);

        Assert.Equal([8, 16, 32, 64], encoder.LevelWidths);
        Assert.Equal([[2L, 8, size, size], [2L, 16, size / 2, size / 2], [2L, 32, size / 4, size / 4]], features.Skips.Select(s => s.shape));
        Assert.Equal([2L, 64, size / 8, size / 8], features.Bottleneck.shape);
        using var pooled = encoder.forward(images);
        Assert.Equal([2L, encoder.FeatureDim], pooled.shape);
    }

    [Theory]
    [InlineData(64, NormKind.Batch)]
    [InlineData(96, NormKind.Group)]
    public void Should_give_per_pixel_logits_for_each_class(int size, NormKind norm)
    {
        using var unet = TorchRuntime.Seeded(1, () => new UNet2D(new UNetEncoder(8, 3, norm), classes: 4));
        using var generator = new Generator(1);
        using var logits = unet.forward(TorchDraws.Rand(generator, [2, 1, size, size]));
        Assert.Equal([2L, 4, size, size], logits.shape);
    }

    [Fact]
    public void Should_name_the_size_a_deep_encoder_cannot_halve()
    {
        using var encoder = Encoder(1);
        using var generator = new Generator(1);
        var e = Assert.Throws<ArgumentException>(() => encoder.Encode(TorchDraws.Rand(generator, [1, 1, 60, 60])));
        Assert.Contains("divisible by 8", e.Message);
    }

    [Fact]
    public void Should_reject_a_decoder_built_for_other_levels()
    {
        using var encoder = Encoder(1);
        using var decoder = TorchRuntime.Seeded(3, () => new UNetDecoder([8, 16, 32], classes: 2));
        Assert.Throws<ArgumentException>(() => new UNet2D(encoder, decoder));
    }

    [Fact]
    public void Should_initialise_its_encoder_from_a_pretrained_backbone_and_keep_its_decoder()
    {
        using var pretrained = TorchRuntime.Seeded(1, () =>
        {
            var backbone = new UNetEncoder(8, 3);
            return new ProjectedEncoder(backbone, backbone.FeatureDim, 16);
        });
        using var generator = new Generator(1);
        using (no_grad()) pretrained.forward(TorchDraws.Rand(generator, [4, 1, 32, 32])); // moves BN stats off their defaults
        using var unet = TorchRuntime.Seeded(2, () => new UNet2D(new UNetEncoder(8, 3), classes: 2));
        var decoderBefore = ModelWeights.FromModule(unet).Tensors.Where(t => t.Name.StartsWith("decoder.")).ToList();

        var backboneWeights = ModelWeights.FromModule(pretrained).Submodule("encoder");
        unet.InitialiseEncoder(backboneWeights);

        var after = ModelWeights.FromModule(unet);
        Assert.Equal(backboneWeights.ContentHash, after.Submodule("encoder").ContentHash);
        Assert.Equal(ModelWeights.FromModule(pretrained.Backbone).ContentHash, backboneWeights.ContentHash);
        foreach (var t in decoderBefore) Assert.Equal(t.Values, after[t.Name].Values);
    }

    [Fact]
    public void Should_start_with_identity_norms_and_default_conv_init()
    {
        using var unet = TorchRuntime.Seeded(1, () => new UNet2D(new UNetEncoder(8, 2, NormKind.Group), classes: 2));
        ModuleChecks.NormsStartAsIdentity(unet);
        ModuleChecks.WeightsHaveDefaultInit(unet);
    }

    [Fact]
    public void Should_pass_gradients_to_every_parameter()
    {
        using var unet = TorchRuntime.Seeded(1, () => new UNet2D(new UNetEncoder(8, 2), classes: 3));
        using var generator = new Generator(1);
        using var targets = TorchDraws.Randint(generator, 0, 3, [2, 16, 16]);
        ModuleChecks.EveryParameterGetsAGradient(unet, nn.functional.cross_entropy(unet.forward(TorchDraws.Rand(generator, [2, 1, 16, 16])), targets));
    }
}
