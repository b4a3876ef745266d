using FedActors.Training.Data;
using FedActors.Training.Data.Formats;
using FedActors.Training.Randomness;
using FedActors.Training.Sites;

namespace FedActors.Training.Experiments;

/// <summary>
/// One hospital's data: its scanner and its train and test images. From a volumetric source,
/// <paramref name="Slices"/> are its train volumes' slices with their label maps (<paramref name="Train"/>
/// is their images, labelled with their partitions).
/// </summary>
public sealed record SiteData(string HospitalId, ScannerProfile Scanner, ImageShard Train, ImageShard Test, SliceShard? Slices = null);

/// <summary>A volumetric experiment's held-out volumes as slices with label maps, and the number of segmentation classes.</summary>
public sealed record HeldOutVolumes(SliceShard Validation, SliceShard Test, int SegmentationClasses);

/// <summary>
/// The hospitals of an experiment and the held-out images the global model is judged on. Each
/// site's scanner is drawn from its own named seed stream (adding a site never changes another).
/// </summary>
public sealed class ExperimentSites
{
    private ExperimentSites(IReadOnlyList<SiteData> sites, ImageShard test, Func<ImageShard> validation, int classes, string description,
        HeldOutVolumes? heldOut = null)
    {
        HeldOut = heldOut;
        Sites = sites;
        Test = test;
        _validation = new Lazy<ImageShard>(validation);
        Classes = classes;
        Description = description;
    }

    public IReadOnlyList<SiteData> Sites { get; }

    /// <summary>Volumetric sources only: the validation and test volumes segmentation is judged on.</summary>
    public HeldOutVolumes? HeldOut { get; }

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
        settings.IsVolumetric ? Volumetric(settings)
        : settings.DataSource == ExperimentSettings.SyntheticSource ? Synthetic(settings) : FromMedMnist(settings);

    /// <summary>
    /// Volumes over the hospitals, each seen through its site's scanner and cut into slices tagged with their
    /// slice-position partition (what the hospitals train on, labels = partitions). Synthetic cardiac volumes
    /// are drawn per site; a NIfTI directory's volumes are shuffled (seeded), the test and validation volumes
    /// held out first, the rest dealt round-robin. Held-out volume j is shown through site j mod K's scanner.
    /// The per-round probe predicts a slice's partition; segmentation judges the encoder at the end.
    /// </summary>
    public static ExperimentSites Volumetric(ExperimentSettings settings)
    {
        var k = settings.Hospitals;
        var ids = Enumerable.Range(0, k).Select(ExperimentSettings.HospitalId).ToList();
        var scanners = ids.Select(id => Scanner(settings, id)).ToList();
        List<Volume>[] train;
        List<Volume> test, validation;
        int classes;
        string description;
        var real = settings.DataSource != ExperimentSettings.SyntheticCardiacSource;
        if (!real)
        {
            Volume Draw(string id, int site, string stream) => SyntheticCardiacVolumes.Generate(1, settings.VolumeDepth, settings.SliceSize, scanners[site],
                SeededRandom.Derive(settings.Seed, stream), id)[0];
            train = ids.Select((id, i) => Enumerable.Range(0, settings.VolumesPerHospital).Select(v => Draw($"{id}-{v:D3}", i, $"{id}/volumes/{v}")).ToList()).ToArray();
            test = Enumerable.Range(0, settings.TestVolumes).Select(j => Draw($"test-{j:D3}", j % k, $"test/volumes/{j}")).ToList();
            validation = Enumerable.Range(0, settings.ValidationVolumes).Select(j => Draw($"validation-{j:D3}", j % k, $"validation/volumes/{j}")).ToList();
            classes = SyntheticCardiacVolumes.Classes;
            description = $"synthetic cardiac volumes, {settings.VolumesPerHospital} of {settings.VolumeDepth} slices per hospital";
        }
        else
        {
            var all = NiftiDirectory.LoadSegmented(settings.DataSource);
            var order = SeededRandom.Derive(settings.Seed, "sites/volumes").Permutation(all.Count).Select(i => all[i]).ToList();
            var held = settings.TestVolumes + settings.ValidationVolumes;
            if (order.Count < held + k)
                throw new InvalidDataException($"{settings.DataSource}: {order.Count} volumes cannot give {settings.TestVolumes} test, {settings.ValidationVolumes} validation and at least one per each of {k} hospitals.");
            test = order.Take(settings.TestVolumes).ToList();
            validation = order.Skip(settings.TestVolumes).Take(settings.ValidationVolumes).ToList();
            train = ids.Select((_, i) => order.Skip(held).Where((_, j) => j % k == i).ToList()).ToArray();
            classes = Math.Max(2, all.Max(v => v.Labels!.Max()) + 1);
            description = $"{Path.GetFileName(Path.TrimEndingDirectorySeparator(settings.DataSource))}: {order.Count} volumes, {order.Count - held} over {k} hospitals";
        }

        // Real volumes get their site's scanner on the slices; synthetic ones were rendered through it.
        SliceShard Slices(IReadOnlyList<Volume> volumes, int site, string stream)
        {
            var slices = SliceShard.FromVolumes(volumes, settings.Partitions, settings.SliceSize);
            return real ? slices.WithImages(scanners[site].Apply(slices.Images, SeededRandom.Derive(settings.Seed, stream))) : slices;
        }
        SliceShard HeldOut(IReadOnlyList<Volume> volumes, string name) =>
            SliceShard.Concat(volumes.Select((v, j) => Slices([v], j % k, $"{name}/{j}/scanner-noise")).ToList());

        var sites = ids.Select((id, i) =>
        {
            var slices = Slices(train[i], i, $"{id}/scanner-noise");
            return new SiteData(id, scanners[i], slices.Images, new ImageShard(settings.SliceSize, settings.SliceSize, [], []), slices);
        }).ToList();
        var heldOut = new HeldOutVolumes(HeldOut(validation, "validation"), HeldOut(test, "test"), classes);
        return new ExperimentSites(sites, heldOut.Test.Images, () => heldOut.Validation.Images, settings.Partitions,
            $"{description}; {settings.TestVolumes} test and {settings.ValidationVolumes} validation volumes held out; {settings.SliceSize}×{settings.SliceSize} slices in {settings.Partitions} partitions",
            heldOut);
    }

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
