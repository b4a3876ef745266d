using FedActors.Host.Commands;
using FedActors.Host.Configuration;
using FedActors.Training.Data;
using FedActors.Training.Experiments;

namespace FedActors.Tests.Host;

/// <summary>Fed-MAS's prior (<c>fedactors auxiliary --source</c>) is trained on images no hospital holds, and says which.</summary>
public sealed class AuxiliaryPriorSpecs
{
    private static readonly string[] Skewed =
    [
        "seed=7", "data.source=synthetic-skin", "data.classes=4", "data.imbalance-ratio=10", "data.site-sizes=[4,3,2,1]", "data.label-skew=1.0",
        "data.hospitals=4", "data.train-images-per-hospital=32", "data.test-images-per-hospital=16", "data.image-size=16",
        "model.encoder-widths=[8,8,16,16]", "model.projection-dim=16", "method=fedmoco-plain", "rounds.min-participants=4",
    ];

    private static FederatedExperiment Experiment(params string[] extra) => new(ExperimentConfig.Load(null, [.. Skewed, .. extra]).Experiment);

    private static HashSet<string> Hashes(ImageShard shard) =>
        Enumerable.Range(0, shard.Count).Select(i => AuxiliaryPriorImages.ImageHash(shard, i)).ToHashSet(StringComparer.Ordinal);

    [Fact]
    public void Should_draw_the_synthetic_archive_disjoint_from_every_hospitals_train_validation_and_test_images()
    {
        var experiment = Experiment();

        var (prior, source) = AuxiliaryCommand.PriorImages(experiment, new AuxiliaryCommand.Options("unused", 1, AuxiliaryPriorImages.SyntheticSkinArchive, 60));

        Assert.Equal(60, prior.Count);
        Assert.True(source.Independent);
        Assert.Contains("synthetic lesion archive", source.Description);
        // Checked independently of the command: every image of every hospital, hashed, against every prior image.
        var priorHashes = Hashes(prior);
        var sites = experiment.Sites;
        foreach (var site in sites.Sites)
        {
            Assert.Empty(priorHashes.Intersect(Hashes(site.Train)));
            Assert.Empty(priorHashes.Intersect(Hashes(site.Test)));
        }
        Assert.Empty(priorHashes.Intersect(Hashes(sites.Validation)));
        // What the command says it checked is every hospital image there is.
        Assert.Equal(sites.Sites.Sum(s => s.Train.Count), source.Checked["train"]);
        Assert.Equal(sites.Sites.Sum(s => s.Test.Count), source.Checked["test"]);
        Assert.Equal(sites.Validation.Count, source.Checked["validation"]);
        Assert.Equal(32 * 4, source.Checked["train"] + source.Checked["validation"]);
    }

    [Fact]
    public void Should_take_the_pooled_training_images_only_when_asked_and_say_they_are_not_independent()
    {
        var experiment = Experiment();

        var (prior, source) = AuxiliaryCommand.PriorImages(experiment, new AuxiliaryCommand.Options("unused", 1, AuxiliaryPriorImages.PooledTrain));

        Assert.False(source.Independent);
        Assert.Contains("NOT independent", source.Description);
        Assert.Equal(Hashes(experiment.Sites.PooledTrain()), Hashes(prior));
    }

    [Fact]
    public void Should_count_a_hospital_image_in_the_prior_by_its_pixels_and_no_other()
    {
        var experiment = Experiment();
        var site = experiment.Sites.Sites[0];
        var archive = AuxiliaryPriorImages.SyntheticArchive(20, 8, 10, 16, 7);
        // Two of hospital-01's test images slipped into the prior, and a third with one pixel changed.
        var altered = site.Test.Subset([2]);
        var pixels = (byte[])altered.Pixels.Clone();
        pixels[5] ^= 1;
        var prior = ImageShard.Concat([archive, site.Test.Subset([0, 1]), new ImageShard(altered.Channels, altered.Height, altered.Width, pixels, altered.Labels)]);

        var shared = AuxiliaryPriorImages.SharedImages(prior, [("train", site.Train), ("test", site.Test), ("validation", experiment.Sites.Validation)]);

        Assert.Equal(0, shared["train"]);
        Assert.Equal(2, shared["test"]);
        Assert.Equal(0, shared["validation"]);
    }

    [SharedDataFact("isic2018_melanoma/labels.csv")]
    public void Should_refuse_a_prior_from_the_image_folder_the_hospitals_are_dealt_from()
    {
        var folder = SharedData.PathOf("isic2018_melanoma");
        var experiment = Experiment($"data.source=\"{folder}\"", "data.classes=2", "data.label-skew=1.0");

        var error = Assert.Throws<ArgumentException>(() => AuxiliaryCommand.PriorImages(experiment, new AuxiliaryCommand.Options("unused", 1, folder)));

        Assert.Contains("2648 of its 2648 image ids are the hospitals' own", error.Message);
    }

    [Fact]
    public void Should_parse_the_source_options_and_leave_the_rest()
    {
        List<string> args = ["exp.conf", "--out", "f.weights", "--source", "pooled-train", "--source-images", "300", "--set", "seed=2"];

        var options = AuxiliaryCommand.Parse(args);

        Assert.Equal(new AuxiliaryCommand.Options("f.weights", 20, "pooled-train", 300), options);
        Assert.Equal(["exp.conf", "--set", "seed=2"], args);
        Assert.Throws<ArgumentException>(() => AuxiliaryCommand.Parse(["--out", "f", "--source-images", "0"]));
        Assert.Equal(AuxiliaryPriorImages.SyntheticSkinArchive, AuxiliaryCommand.Parse(["--out", "f"]).Source);
    }
}
