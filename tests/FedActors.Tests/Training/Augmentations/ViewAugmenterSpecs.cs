using FedActors.Training.Augmentations;
using FedActors.Training.Data;
using FedActors.Training.Randomness;
using static TorchSharp.torch;

namespace FedActors.Tests.Training.Augmentations;

public class ViewAugmenterSpecs
{
    private static Tensor Batch() =>
        SyntheticChestRadiographs.Generate(8, 16, ScannerProfile.Identity, new SeededRandom(1)).Images(Enumerable.Range(0, 8).ToArray(), CPU);

    [Fact]
    public void Should_be_the_identity_when_every_augmentation_is_off()
    {
        var off = new AugmentationOptions
        {
            MinCropScale = 1, MaxAspectRatio = 1, MaxRotationDegrees = 0, FlipProbability = 0, IntensityProbability = 0,
            GammaProbability = 0, BlurProbability = 0, NoiseProbability = 0,
        };
        using var images = Batch();
        using var view = new ViewAugmenter(off).Augment(images, new SeededRandom(2));
        Assert.True(view.allclose(images, atol: 1e-5), "views differ from the input with every augmentation off");
    }

    [Fact]
    public void Should_draw_views_from_the_rng_only_and_stay_in_range()
    {
        var augmenter = new ViewAugmenter(new AugmentationOptions());
        using var images = Batch();
        using var a = augmenter.Augment(images, new SeededRandom(3));
        using var b = augmenter.Augment(images, new SeededRandom(3));
        using var c = augmenter.Augment(images, new SeededRandom(4));
        Assert.Equal(images.shape, a.shape);
        Assert.True(a.equal(b).all().item<bool>(), "the same RNG state gave different views");
        Assert.False(a.allclose(c), "different RNG states gave the same views");
        Assert.True(a.min().item<float>() >= 0 && a.max().item<float>() <= 1);
    }

    [Fact]
    public void Should_augment_colour_images_with_one_transform_per_image()
    {
        using var grey = Batch();
        using var rgb = grey.repeat(1, 3, 1, 1); // three identical channels
        var noNoise = new AugmentationOptions { NoiseProbability = 0, BlurProbability = 1 };
        using var view = new ViewAugmenter(noNoise).Augment(rgb, new SeededRandom(5));
        Assert.Equal([8L, 3, 16, 16], view.shape);
        // Geometry, intensity, gamma and blur are per image, so the channels stay identical.
        Assert.True(view.select(1, 0).allclose(view.select(1, 2), atol: 1e-6));
    }
}
