using FedActors.Training.Data;
using FedActors.Training.Data.Formats;
using FedActors.Training.Experiments;

namespace FedActors.Tests.Training.Experiments;

public sealed class ExperimentSitesSpecs
{
    private static ExperimentSettings PneumoniaSettings(double? alpha) => TinyExperiment.Settings(hospitals: 4) with
    {
        DataSource = SharedData.PathOf("pneumoniamnist.npz"),
        LabelSkewAlpha = alpha,
    };

    [SharedDataFact("pneumoniamnist.npz")]
    public void Should_share_the_real_train_split_over_the_hospitals_with_label_skew_and_judge_on_the_official_test_split()
    {
        var sites = ExperimentSites.Create(PneumoniaSettings(alpha: 0.3));
        var data = MedMnistReader.Load(SharedData.PathOf("pneumoniamnist.npz"));
        var train = data["train"].ToShard();

        Assert.Equal(2, sites.Classes);
        Assert.Equal(4, sites.Sites.Count);
        Assert.Equal(train.Count, sites.Sites.Sum(s => s.Train.Count)); // every image in exactly one site
        Assert.Equal(train.Labels.Count(l => l == 0), sites.Sites.Sum(s => s.Train.Labels.Count(l => l == 0)));
        Assert.Equal(data["test"].Count, sites.Test.Count);
        Assert.Equal(data["test"].ToShard().Pixels, sites.Test.Pixels); // the official test split, as released
        Assert.Equal(data["val"].Count, sites.Validation.Count);
        Assert.Equal(data["val"].ToShard().Labels, sites.Validation.Labels);
        // Label skew: the share of normals differs widely between sites.
        var normalShare = sites.Sites.Select(s => s.Train.Labels.Count(l => l == 0) / (double)s.Train.Count).ToList();
        Assert.True(normalShare.Max() - normalShare.Min() > 0.1, $"normal shares [{string.Join(", ", normalShare.Select(x => x.ToString("F2")))}]");
        // Site shift: each site's scanner changed its images' intensity statistics.
        var means = sites.Sites.Select(s => SiteStatistics.Of(s.HospitalId, s.Train).Mean).ToList();
        Assert.Equal(4, means.Distinct().Count());
    }

    [Fact]
    public void Should_pass_each_hospitals_share_of_the_test_images_through_that_hospitals_own_scanner()
    {
        // Four 2×2 images of pixels 51, 204, 0, 255 (0.2, 0.8, 0, 1). Hospital A's scanner adds 0.2 (→ 102, 255, 51, 255),
        // hospital B's subtracts 0.2 (→ 0, 153, 0, 204); neither has gain, gamma, bias, blur, noise or resampling.
        byte[] image = [51, 204, 0, 255];
        var test = new ImageShard(2, 2, [.. image, .. image, .. image, .. image], [0, 1, 1, 0]);
        var empty = new ImageShard(2, 2, [], []);
        SiteData Site(string id, double brightness) => new(id, ScannerProfile.Identity with { Brightness = brightness }, empty, empty);
        var sites = new[] { Site("hospital-01", 0.2), Site("hospital-02", -0.2) };
        byte[][] expected = [[102, 255, 51, 255], [0, 153, 0, 204]];

        var shares = ExperimentSites.SiteShares(4, 2, seed: 3, "test");
        var shifted = ExperimentSites.SiteShifted(test, sites, seed: 3, "test");

        Assert.Equal([0, 1, 2, 3], shares.SelectMany(s => s).Order()); // every image in exactly one share
        Assert.All(shares, s => Assert.Equal(2, s.Length));
        for (var h = 0; h < 2; h++)
            foreach (var i in shares[h])
                Assert.Equal(expected[h], shifted.Pixels[(4 * i)..(4 * i + 4)]);
        Assert.Equal(test.Labels, shifted.Labels);
        Assert.Equal(image, test.Pixels[..4]); // the unshifted split is left as it was
        Assert.Equal(shifted.Pixels, ExperimentSites.SiteShifted(test, sites, seed: 3, "test").Pixels); // deterministic from the seed
    }

    [SharedDataFact("pneumoniamnist.npz")]
    public void Should_score_medmnist_on_the_test_split_as_released_and_site_shifted_and_choose_on_the_shifted_val_split()
    {
        var settings = PneumoniaSettings(alpha: 0.3);
        var sites = ExperimentSites.Create(settings);
        var data = MedMnistReader.Load(SharedData.PathOf("pneumoniamnist.npz"));

        Assert.Equal([("test", data["test"].ToShard().Pixels), ("test-shifted", ExperimentSites.SiteShifted(data["test"].ToShard(), sites.Sites, settings.Seed, "test").Pixels)],
            sites.TestSplits.Select(s => (s.Split, s.Images.Pixels)));
        Assert.NotEqual(sites.TestSplits[0].Images.Pixels, sites.TestSplits[1].Images.Pixels);
        Assert.Equal(ExperimentSites.SiteShifted(data["val"].ToShard(), sites.Sites, settings.Seed, "validation").Pixels, sites.Validation.Pixels);
    }

    [SharedDataFact("pneumoniamnist.npz")]
    public void Should_split_iid_without_label_skew_and_give_the_same_sites_for_the_same_seed()
    {
        var first = ExperimentSites.Create(PneumoniaSettings(alpha: null));
        var again = ExperimentSites.Create(PneumoniaSettings(alpha: null));

        var normalShare = first.Sites.Select(s => s.Train.Labels.Count(l => l == 0) / (double)s.Train.Count).ToList();
        Assert.True(normalShare.Max() - normalShare.Min() < 0.05, $"IID normal shares [{string.Join(", ", normalShare)}]");
        Assert.Equal(first.Sites.Select(s => s.Train.Pixels), again.Sites.Select(s => s.Train.Pixels));
    }

    [SharedDataFact("isic2018_melanoma")]
    public void Should_deal_the_isic_images_to_flamby_sized_sites_with_their_own_test_sets_and_hold_out_validation()
    {
        double[] flamby = [9930, 3163, 2691, 1807, 655, 351];
        var settings = TinyExperiment.Settings(hospitals: 6) with
        {
            DataSource = SharedData.PathOf("isic2018_melanoma"), SiteSizes = flamby, LabelSkewAlpha = 1, ImageSize = 16,
        };
        Assert.True(settings.IsImageFolder);
        Assert.False(settings.IsVolumetric);

        var sites = ExperimentSites.Create(settings);

        Assert.Equal(3, sites.Channels);
        Assert.Equal(2, sites.Classes);
        // 530 isic2018_test rows judge; the 2,118 ham10000_train rows are trained on or held out for validation.
        Assert.Equal(530, sites.Test.Count);
        Assert.Equal(530, sites.Sites.Sum(s => s.Test.Count));
        Assert.Equal(2118, sites.Sites.Sum(s => s.Train.Count) + sites.Validation.Count);
        Assert.InRange(sites.Validation.Count, 180, 240);
        // Site sizes follow FLamby's proportions (train + validation within a few images of their share).
        var trained = sites.Sites.Select(s => s.Train.Count / 0.9).ToList();
        for (var i = 0; i < 6; i++) Assert.InRange(trained[i], 2118 * flamby[i] / flamby.Sum() * 0.9 - 5, 2118 * flamby[i] / flamby.Sum() * 1.1 + 5);
        // Label skew: the melanoma share differs between sites.
        var melanoma = sites.Sites.Select(s => s.Train.Labels.Average()).ToList();
        Assert.True(melanoma.Max() - melanoma.Min() > 0.1, string.Join(", ", melanoma));
    }
    [SharedDataFact("isic2018_melanoma")]
    public void Should_name_the_labels_file_and_column_when_an_image_folder_has_no_test_rows_or_a_negative_class()
    {
        var source = SharedData.PathOf("isic2018_melanoma");
        var rows = File.ReadLines(Path.Combine(source, "labels.csv")).Skip(1).Take(12).ToList();
        var folder = Directory.CreateTempSubdirectory("fedactors-folder-").FullName;
        try
        {
            Directory.CreateDirectory(Path.Combine(folder, "images"));
            foreach (var id in rows.Select(r => r.Split(',')[0]))
                File.Copy(Path.Combine(source, "images", id + ".jpg"), Path.Combine(folder, "images", id + ".jpg"));
            var csv = Path.Combine(folder, "labels.csv");
            var settings = TinyExperiment.Settings(hospitals: 2) with { DataSource = folder, SiteSizes = [1, 1], ImageSize = 16 };

            // Every row a training row: no test set.
            File.WriteAllLines(csv, ["isic_id,source_split,melanoma", .. rows.Select(r => string.Join(",", r.Split(',')[0], "ham10000_train", "0"))]);
            var noTest = Assert.Throws<DataFormatException>(() => ExperimentSites.Create(settings));
            Assert.Equal($"{csv}: source_split: no row has source_split = isic2018_test, so there is no test set", noTest.Message);

            // A test row, and a class below 0.
            File.WriteAllLines(csv, ["isic_id,source_split,melanoma", .. rows.Select((r, i) => string.Join(",", r.Split(',')[0], i == 0 ? "isic2018_test" : "ham10000_train", i == 1 ? "-1" : "0"))]);
            var negative = Assert.Throws<DataFormatException>(() => ExperimentSites.Create(settings));
            Assert.Equal($"{csv}: melanoma: holds a negative class", negative.Message);
        }
        finally { Directory.Delete(folder, recursive: true); }
    }
}
