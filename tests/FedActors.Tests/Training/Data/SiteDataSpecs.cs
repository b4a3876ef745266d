using FedActors.Training.Augmentations;
using FedActors.Training.Data;
using FedActors.Training.Randomness;
using static TorchSharp.torch;

namespace FedActors.Tests.Training.Data;

public class SiteDataSpecs
{
    private static ImageShard Site(ulong seed, double severity) =>
        SyntheticChestRadiographs.Generate(64, 16, ScannerProfile.Draw(new SeededRandom(seed), severity), new SeededRandom(seed + 100));

    [Fact]
    public void Should_give_restandardised_images_the_target_sites_mean_and_std()
    {
        var own = Site(1, 1.0);
        var target = Site(2, 1.0);
        var ownStats = SiteStatistics.Of("own", own);
        var targetStats = SiteStatistics.Of("target", target);
        Assert.NotEqual(ownStats.Mean, targetStats.Mean, 3);

        var restandardise = new CrossSiteRestandardisation(ownStats, [ownStats, targetStats], probability: 1.0);
        using var images = own.Images(Enumerable.Range(0, own.Count).ToArray(), CPU);
        using var shifted = restandardise.Apply(images, new SeededRandom(5));

        Assert.Equal(targetStats.Mean, shifted.mean().item<float>(), 4);
        Assert.Equal(targetStats.Std, shifted.std(unbiased: false).item<float>(), 4);
    }

    [Fact]
    public void Should_leave_images_alone_with_probability_zero()
    {
        var own = Site(1, 1.0);
        var stats = SiteStatistics.Of("own", own);
        var restandardise = new CrossSiteRestandardisation(stats, [stats, SiteStatistics.Of("b", Site(2, 1.0))], probability: 0);
        using var images = own.Images([0, 1, 2], CPU);
        using var same = restandardise.Apply(images, new SeededRandom(5));
        Assert.True(same.allclose(images, atol: 1e-6));
    }

    [Fact]
    public void Should_render_different_sites_differently_and_the_same_site_identically()
    {
        Assert.Equal(Site(1, 1.0).Pixels, Site(1, 1.0).Pixels);
        var a = SiteStatistics.Of("a", Site(1, 1.0));
        var b = SiteStatistics.Of("b", Site(3, 1.0));
        Assert.True(Math.Abs(a.Mean - b.Mean) > 0.01 || Math.Abs(a.Std - b.Std) > 0.01, "two scanner profiles rendered alike");
    }

    [Fact]
    public void Should_generate_cardiac_volumes_whose_anatomy_shrinks_towards_the_apex()
    {
        var volumes = SyntheticCardiacVolumes.Generate(3, 12, 48, ScannerProfile.Draw(new SeededRandom(1)), new SeededRandom(2));
        foreach (var v in volumes)
        {
            v.Validate();
            Assert.Equal(Enumerable.Range(0, 4).Select(c => (byte)c), v.Labels!.Distinct().Order());
            var lvArea = Enumerable.Range(0, v.Depth).Select(z => v.LabelSlice(z).Count((byte)1)).ToArray();
            Assert.True(lvArea[0] > 3 * Math.Max(1, lvArea[^3]), $"LV area {string.Join(",", lvArea)} does not shrink to the apex");
            Assert.Equal(0, v.LabelSlice(v.Depth - 1).Count((byte)3)); // no RV at the apex
        }
        Assert.Equal(volumes[0].Voxels, SyntheticCardiacVolumes.Generate(1, 12, 48, ScannerProfile.Draw(new SeededRandom(1)), new SeededRandom(2))[0].Voxels);
    }

    [Fact]
    public void Should_slice_volumes_with_partitions_and_resized_masks()
    {
        var volumes = SyntheticCardiacVolumes.Generate(2, 8, 48, ScannerProfile.Identity, new SeededRandom(2));
        var slices = SliceShard.FromVolumes(volumes, partitions: 4, size: 32);
        Assert.Equal(16, slices.Count);
        Assert.Equal([0, 0, 1, 1, 2, 2, 3, 3, 0, 0, 1, 1, 2, 2, 3, 3], slices.Partition);
        Assert.Equal([0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1], slices.VolumeOf);
        Assert.Equal(32, slices.Images.Height);
        using var masks = slices.MaskTensor([0, 15], CPU);
        Assert.Equal([2L, 32, 32], masks.shape);
        Assert.True(masks.max().item<long>() <= 3);

        var second = slices.OfVolumes([1]);
        Assert.Equal(8, second.Count);
        Assert.All(second.VolumeOf, v => Assert.Equal(1, v));
    }

    [Fact]
    public void Should_name_the_volume_whose_label_map_does_not_fit()
    {
        var bad = new Volume("scan-7", 2, 4, 4, new float[32], new byte[30]);
        var e = Assert.Throws<ArgumentException>(() => SliceShard.FromVolumes([bad], 2, 4));
        Assert.Contains("scan-7", e.Message);
    }

    [SharedDataFact("la2018")]
    public void Should_slice_a_real_left_atrium_scan_into_partitions_with_its_mask()
    {
        var image = Directory.GetFiles(SharedData.PathOf("la2018"), "*_gt.nii.gz").Order().First().Replace("_gt.nii.gz", ".nii.gz");
        var scan = FedActors.Training.Data.Formats.NiftiReader.LoadWithMask(image, image.Replace(".nii.gz", "_gt.nii.gz"));
        var volume = Volume.From(scan, "la-0");
        var slices = SliceShard.FromVolumes([volume], partitions: 4, size: 64, foregroundOnly: true);
        Assert.True(slices.Count > 10, $"only {slices.Count} slices show the atrium");
        Assert.Equal(4, slices.Partition.Distinct().Count());
        Assert.Contains((byte)1, slices.Masks!);
        Assert.True(slices.Images.Pixels.Distinct().Count() > 100, "intensities collapsed in the byte mapping");
    }

    [Fact]
    public void Should_generate_long_tailed_rgb_lesions_with_class_specific_colour()
    {
        var counts = SyntheticSkinLesions.LongTailedCounts(400, 8, imbalanceRatio: 50);
        Assert.Equal(400, counts.Sum());
        Assert.True(counts[0] >= 40 * counts[7] / 1.5, $"counts {string.Join(",", counts)} are not long-tailed");
        Assert.Equal(counts.OrderDescending(), counts);

        var lesions = SyntheticSkinLesions.Generate(counts, 24, ScannerProfile.Identity, (1, 1, 1), new SeededRandom(4));
        Assert.Equal(3, lesions.Channels);
        Assert.Equal(counts, Enumerable.Range(0, 8).Select(c => lesions.Labels.Count(l => l == c)));
        double MeanRed(int cls)
        {
            var idx = Enumerable.Range(0, lesions.Count).Where(i => lesions.Labels[i] == cls).ToArray();
            using var images = lesions.Images(idx, CPU);
            return images.select(1, 0).mean().item<float>();
        }
        Assert.True(MeanRed(1) < MeanRed(2) - 0.05, "melanomas should be darker in red than basal cell carcinomas");
        Assert.Equal(lesions.Pixels, SyntheticSkinLesions.Generate(counts, 24, ScannerProfile.Identity, (1, 1, 1), new SeededRandom(4)).Pixels);
    }

    [SharedDataFact("pneumoniamnist.npz")]
    public void Should_apply_a_scanner_to_real_images_deterministically()
    {
        var real = FedActors.Training.Data.Formats.MedMnistReader.Load(SharedData.PathOf("pneumoniamnist.npz"))["test"].ToShard()
            .Subset(Enumerable.Range(0, 32).ToArray());
        Assert.Equal(real.Pixels, ScannerProfile.Identity.Apply(real, new SeededRandom(1)).Pixels);

        var scanner = ScannerProfile.Draw(new SeededRandom(9));
        var a = scanner.Apply(real, new SeededRandom(2));
        Assert.Equal(a.Pixels, scanner.Apply(real, new SeededRandom(2)).Pixels);
        Assert.Equal(real.Labels, a.Labels);
        Assert.NotEqual(real.Pixels, a.Pixels);

        // Half the acquisition resolution removes fine detail: neighbouring pixels differ less.
        static double Roughness(ImageShard s) =>
            Enumerable.Range(0, s.Pixels.Length - 1).Where(i => (i + 1) % s.Width != 0).Average(i => Math.Abs(s.Pixels[i] - s.Pixels[i + 1]));
        var lowRes = (ScannerProfile.Identity with { ResolutionScale = 0.5 }).Apply(real, new SeededRandom(3));
        Assert.True(Roughness(lowRes) < 0.8 * Roughness(real), $"roughness {Roughness(lowRes):F2} vs {Roughness(real):F2}");
    }
}
