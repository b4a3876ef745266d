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
        // Label skew: the share of normals differs widely between sites.
        var normalShare = sites.Sites.Select(s => s.Train.Labels.Count(l => l == 0) / (double)s.Train.Count).ToList();
        Assert.True(normalShare.Max() - normalShare.Min() > 0.1, $"normal shares [{string.Join(", ", normalShare.Select(x => x.ToString("F2")))}]");
        // Site shift: each site's scanner changed its images' intensity statistics.
        var means = sites.Sites.Select(s => SiteStatistics.Of(s.HospitalId, s.Train).Mean).ToList();
        Assert.Equal(4, means.Distinct().Count());
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
}
