using FedActors.Training.Data;
using FedActors.Training.Data.Formats;
using FedActors.Training.Randomness;
using FedActors.Training.Sites;

namespace FedActors.Training.Experiments;

/// <summary>One hospital's data: its scanner and its train and test images.</summary>
public sealed record SiteData(string HospitalId, ScannerProfile Scanner, ImageShard Train, ImageShard Test);

/// <summary>
/// The hospitals of an experiment and the held-out images the global model is judged on. Each
/// site's scanner is drawn from its own named seed stream (adding a site never changes another).
/// </summary>
public sealed class ExperimentSites
{
    private ExperimentSites(IReadOnlyList<SiteData> sites, ImageShard test, Func<ImageShard> validation, int classes, string description)
    {
        Sites = sites;
        Test = test;
        _validation = new Lazy<ImageShard>(validation);
        Classes = classes;
        Description = description;
    }

    public IReadOnlyList<SiteData> Sites { get; }

    /// <summary>Where evaluation measures: the sites' pooled held-out images (synthetic), or the data set's official test split.</summary>
    public ImageShard Test { get; }

    private readonly Lazy<ImageShard> _validation;

    /// <summary>Where fine-tuning chooses its epoch (never the test split): the data set's val split, or more synthetic images per site.</summary>
    public ImageShard Validation => _validation.Value;

    public int Classes { get; }

    /// <summary>Where the images came from and how they were split, for run headers and reports.</summary>
    public string Description { get; }

    public ImageShard PooledTrain() => ImageShard.Concat(Sites.Select(s => s.Train).ToList());

    public static ExperimentSites Create(ExperimentSettings settings) =>
        settings.DataSource == ExperimentSettings.SyntheticSource ? Synthetic(settings) : FromMedMnist(settings);

    /// <summary>Site-shifted synthetic chest radiographs, train and test rendered by each site's scanner.</summary>
    public static ExperimentSites Synthetic(ExperimentSettings settings)
    {
        var sites = Enumerable.Range(0, settings.Hospitals).Select(i =>
        {
            var id = ExperimentSettings.HospitalId(i);
            var scanner = Scanner(settings, id);
            var train = SyntheticChestRadiographs.Generate(settings.TrainImagesPerHospital, settings.ImageSize, scanner,
                SeededRandom.Derive(settings.Seed, $"{id}/train"), settings.Classes);
            var test = SyntheticChestRadiographs.Generate(settings.TestImagesPerHospital, settings.ImageSize, scanner,
                SeededRandom.Derive(settings.Seed, $"{id}/test"), settings.Classes);
            return new SiteData(id, scanner, train, test);
        }).ToList();
        ImageShard Validation() => ImageShard.Concat(sites.Select(s => SyntheticChestRadiographs.Generate(
            Math.Max(1, settings.TestImagesPerHospital / 2), settings.ImageSize, s.Scanner,
            SeededRandom.Derive(settings.Seed, $"{s.HospitalId}/validation"), settings.Classes)).ToList());
        return new ExperimentSites(sites, ImageShard.Concat(sites.Select(s => s.Test).ToList()), Validation, settings.Classes,
            $"synthetic chest radiographs, {settings.TrainImagesPerHospital} per hospital");
    }

    /// <summary>
    /// A 2D MedMNIST file's train split over the hospitals: label skew by a Dirichlet(α) share of each
    /// class per site (IID without <see cref="ExperimentSettings.LabelSkewAlpha"/>), then each site's
    /// images as its scanner shows them. The official test split, as released, is where models are judged.
    /// </summary>
    public static ExperimentSites FromMedMnist(ExperimentSettings settings)
    {
        var data = MedMnistReader.Load(settings.DataSource);
        var train = data["train"].ToShard();
        var test = data["test"].ToShard();
        if (train.Channels != 1) throw new InvalidDataException($"{settings.DataSource}: {train.Channels}-channel images; the encoders take grey images.");
        var rng = SeededRandom.Derive(settings.Seed, "sites/partition");
        var parts = settings.LabelSkewAlpha is { } alpha
            ? Partitioners.DirichletLabelSkew(train.Labels, settings.Hospitals, alpha, rng, minPerSite: 2 * settings.MoCo.BatchSize)
            : Partitioners.Iid(train.Count, settings.Hospitals, rng);
        var empty = new ImageShard(train.Height, train.Width, [], []);
        var sites = parts.Select((indices, i) =>
        {
            var id = ExperimentSettings.HospitalId(i);
            var scanner = Scanner(settings, id);
            return new SiteData(id, scanner, scanner.Apply(train.Subset(indices), SeededRandom.Derive(settings.Seed, $"{id}/scanner-noise")), empty);
        }).ToList();
        var classes = train.Labels.Concat(test.Labels).Max() + 1;
        return new ExperimentSites(sites, test, () => data["val"].ToShard(), classes,
            $"{Path.GetFileName(settings.DataSource)} train split ({train.Count} images) over {settings.Hospitals} hospitals, " +
            (settings.LabelSkewAlpha is { } a ? $"label skew Dirichlet(α = {a})" : "IID") + "; official test split");
    }

    private static ScannerProfile Scanner(ExperimentSettings settings, string hospitalId) =>
        ScannerProfile.Draw(SeededRandom.Derive(settings.Seed, $"{hospitalId}/scanner"), settings.SiteShift);
}
