using FedActors.Training.Data;
using FedActors.Training.Data.Formats;
using FedActors.Training.Evaluation;
using FedActors.Training.Randomness;
using FedActors.Training.Sites;

namespace FedActors.Training.Experiments;

/// <summary>
/// One hospital's data: its scanner and its train and test images. From a volumetric source,
/// <paramref name="Slices"/> are its train volumes' slices with their label maps (<paramref name="Train"/>
/// is their images, labelled with their partitions).
/// </summary>
/// <param name="HospitalId">The hospital's id (<see cref="ExperimentSettings.HospitalIdOf"/>).</param>
/// <param name="Scanner">The scanner profile its images were seen through.</param>
/// <param name="Train">Its training images (what it trains on locally).</param>
/// <param name="Test">Its own test images; empty where the source has only a pooled test split (MedMNIST, volumetric).</param>
/// <param name="Slices">Volumetric sources: its training slices with label maps; null otherwise.</param>
public sealed record SiteData(string HospitalId, ScannerProfile Scanner, ImageShard Train, ImageShard Test, SliceShard? Slices = null);

/// <summary>A volumetric experiment's held-out volumes as slices with label maps, and the number of segmentation classes.</summary>
/// <param name="Validation">The validation volumes' slices, which choose the segmentation epoch.</param>
/// <param name="Test">The test volumes' slices, which segmentation is judged on.</param>
/// <param name="SegmentationClasses">The number of label-map classes, background included.</param>
public sealed record HeldOutVolumes(SliceShard Validation, SliceShard Test, int SegmentationClasses);

/// <summary>
/// The hospitals of an experiment and the held-out images the global model is judged on. Each
/// site's scanner is drawn from its own named seed stream (adding a site never changes another).
/// </summary>
public sealed class ExperimentSites
{
    private ExperimentSites(IReadOnlyList<SiteData> sites, ImageShard test, Func<ImageShard> validation, int classes, string description,
        HeldOutVolumes? heldOut = null, Func<ImageShard>? testShifted = null)
    {
        HeldOut = heldOut;
        Sites = sites;
        Test = test;
        _validation = new Lazy<ImageShard>(validation);
        _testShifted = testShifted is null ? null : new Lazy<ImageShard>(testShifted);
        Classes = classes;
        Description = description;
    }

    /// <summary>The hospitals' data, in hospital order (<c>hospital-01</c> first).</summary>
    public IReadOnlyList<SiteData> Sites { get; }

    /// <summary>Volumetric sources only: the validation and test volumes segmentation is judged on.</summary>
    public HeldOutVolumes? HeldOut { get; }

    /// <summary>Where evaluation measures: the sites' pooled held-out images (synthetic), or the data set's official test split.</summary>
    public ImageShard Test { get; }

    private readonly Lazy<ImageShard> _validation;
    private readonly Lazy<ImageShard>? _testShifted;

    /// <summary>
    /// The held-out splits a label-efficiency evaluation scores on, by name: <see cref="EvaluationSplits.Test"/>
    /// (<see cref="Test"/>) and, where the source's test images are not already seen through the hospitals' scanners
    /// (a MedMNIST file), <see cref="EvaluationSplits.TestShifted"/>: the same images, each hospital's seeded share through
    /// that hospital's own scanner (<see cref="SiteShifted"/>). Synthetic, skewed and volumetric sources draw their test
    /// images through the scanners already, so their <see cref="EvaluationSplits.Test"/> is site-shifted and stands alone.
    /// </summary>
    public IReadOnlyList<(string Split, ImageShard Images)> TestSplits =>
        _testShifted is null
            ? [(EvaluationSplits.Test, Test)]
            : [(EvaluationSplits.Test, Test), (EvaluationSplits.TestShifted, _testShifted.Value)];

    /// <summary>
    /// Which hospital's scanner each held-out image of a pooled split goes through: the indices 0 … <paramref name="count"/> − 1
    /// dealt IID over <paramref name="hospitals"/> hospitals (<see cref="Partitioners.Iid"/>, sizes differing by at most one),
    /// from the seed stream <c>{stream}/site-shares</c> of <paramref name="seed"/>. Entry h holds hospital h's indices, sorted.
    /// </summary>
    /// <param name="count">Images in the split; at least <paramref name="hospitals"/>.</param>
    /// <param name="hospitals">The number of hospitals.</param>
    /// <param name="seed">The experiment seed.</param>
    /// <param name="stream">The split's name, which keeps its shares independent of other splits'.</param>
    public static int[][] SiteShares(int count, int hospitals, ulong seed, string stream) =>
        Partitioners.Iid(count, hospitals, SeededRandom.Derive(seed, $"{stream}/site-shares"));

    /// <summary>
    /// <paramref name="images"/> as the hospitals' scanners would show them: hospital h's share (<see cref="SiteShares"/>)
    /// through <c>sites[h].Scanner</c> (<see cref="ScannerProfile.Apply"/>, in index order, with the noise stream
    /// <c>{hospital id}/{stream}/scanner-noise</c>), each image kept at its own index with its label.
    /// </summary>
    /// <param name="images">The pooled held-out images, unshifted.</param>
    /// <param name="sites">The hospitals, in hospital order; their scanners are used.</param>
    /// <param name="seed">The experiment seed.</param>
    /// <param name="stream">The split's name (<c>test</c>, <c>validation</c>).</param>
    public static ImageShard SiteShifted(ImageShard images, IReadOnlyList<SiteData> sites, ulong seed, string stream)
    {
        var shares = SiteShares(images.Count, sites.Count, seed, stream);
        var pixels = new byte[images.Pixels.Length];
        for (var h = 0; h < sites.Count; h++)
        {
            var shifted = sites[h].Scanner.Apply(images.Subset(shares[h]), SeededRandom.Derive(seed, $"{sites[h].HospitalId}/{stream}/scanner-noise"));
            for (var j = 0; j < shares[h].Length; j++)
                Buffer.BlockCopy(shifted.Pixels, j * images.PixelsPerImage, pixels, shares[h][j] * images.PixelsPerImage, images.PixelsPerImage);
        }
        return new ImageShard(images.Channels, images.Height, images.Width, pixels, (int[])images.Labels.Clone());
    }

    /// <summary>
    /// Where probes and fine-tuning choose their step (never a test split): a MedMNIST file's val split with each hospital's
    /// share through its scanner (<see cref="SiteShifted"/>), more synthetic images per site, or held-out training images.
    /// </summary>
    public ImageShard Validation => _validation.Value;

    /// <summary>The number of image classes (labels 0 … Classes − 1); for volumetric sources, the slices' partitions.</summary>
    public int Classes { get; }

    /// <summary>Where the images came from and how they were split, for run headers and reports.</summary>
    public string Description { get; }

    /// <summary>Every hospital's training images concatenated in hospital order (a new shard each call).</summary>
    public ImageShard PooledTrain() => ImageShard.Concat(Sites.Select(s => s.Train).ToList());

    /// <summary>Channels of every image (1 grey, 3 RGB).</summary>
    public int Channels => Sites[0].Train.Channels;

    /// <summary>The sites <paramref name="settings"/>' data source gives: volumetric, skewed classification, synthetic radiographs or a MedMNIST file.</summary>
    /// <param name="settings">The experiment's settings.</param>
    public static ExperimentSites Create(ExperimentSettings settings) =>
        settings.IsVolumetric ? Volumetric(settings)
        : settings.IsSkewedClassification ? SkewedClassification(settings)
        : settings.DataSource == ExperimentSettings.SyntheticSource ? Synthetic(settings) : FromMedMnist(settings);

    /// <summary>
    /// Imbalanced, heterogeneous sites for supervised classification (the Fed-MAS experiments): sizes ∝
    /// <see cref="ExperimentSettings.SiteSizes"/> with Dirichlet label skew (<see cref="Partitioners.SizedLabelSkew"/>,
    /// one draw for train and test alike), each site seen through its own scanner. Synthetic lesions are drawn
    /// long-tailed (train-images-per-hospital × hospitals in all, test likewise) with a per-site colour cast;
    /// an image folder's train rows are dealt by the same shares and its test-split rows too. Each site holds out
    /// a stratified <see cref="ExperimentSettings.ValidationFraction"/> of its training images; the pooled
    /// held-out images choose the round, the pooled site test sets judge it, and each site's its own.
    /// </summary>
    public static ExperimentSites SkewedClassification(ExperimentSettings settings)
    {
        var k = settings.Hospitals;
        var ids = Enumerable.Range(0, k).Select(i => ExperimentSettings.HospitalIdOf(i, k)).ToList();
        var weights = settings.SiteSizes.Count == 0 ? Enumerable.Repeat(1.0, k).ToArray() : settings.SiteSizes.ToArray();
        if (weights.Length != k) throw new ArgumentException($"{weights.Length} site sizes for {k} hospitals.");
        var scanners = ids.Select(id => Scanner(settings, id)).ToList();
        ImageShard[] train, test;
        int classes;
        string description;
        if (settings.DataSource == ExperimentSettings.SyntheticSkinSource)
        {
            classes = settings.Classes;
            var prior = SyntheticSkinLesions.LongTailedCounts(1_000_000, classes, settings.ImbalanceRatio).Select(n => (double)n).ToArray();
            var shares = Partitioners.SizedLabelSkew(weights, prior, settings.LabelSkewAlpha, SeededRandom.Derive(settings.Seed, "sites/partition"));
            int[][] Counts(int total) => Partitioners.CountsOf(SyntheticSkinLesions.LongTailedCounts(total, classes, settings.ImbalanceRatio), shares);
            var (trainCounts, testCounts) = (Counts(settings.TrainImagesPerHospital * k), Counts(settings.TestImagesPerHospital * k));
            ImageShard Draw(int site, int[] counts, string stream)
            {
                var cast = SeededRandom.Derive(settings.Seed, $"{ids[site]}/colour-cast");
                double Gain() => 1 + settings.SiteShift * 0.15 * (2 * cast.NextDouble() - 1);
                return SyntheticSkinLesions.Generate(counts, settings.ImageSize, scanners[site], (Gain(), Gain(), Gain()),
                    SeededRandom.Derive(settings.Seed, $"{ids[site]}/{stream}"));
            }
            train = ids.Select((_, i) => Draw(i, trainCounts[i], "train")).ToArray();
            test = ids.Select((_, i) => Draw(i, testCounts[i], "test")).ToArray();
            description = $"synthetic long-tailed skin lesions, {classes} classes (imbalance {settings.ImbalanceRatio:G3})";
        }
        else
        {
            var folder = settings.DataSource;
            var csv = Path.Combine(folder, ExperimentSettings.ImageFolderLabels);
            var all = ImageFolderReader.Load(new ImageFolderRequest(Path.Combine(folder, "images"), csv, settings.ImageFolderIdColumn,
                [settings.ImageFolderLabelColumn], settings.ImageSize, settings.ImageSize));
            var table = CsvTable.Read(csv);
            var split = table.Column(settings.ImageFolderSplitColumn);
            var isTest = table.Rows.Select(r => r.Fields[split] == settings.ImageFolderTestSplit).ToArray();
            if (!isTest.Any(t => t)) throw new DataFormatException(csv, settings.ImageFolderSplitColumn, $"no row has {settings.ImageFolderSplitColumn} = {settings.ImageFolderTestSplit}, so there is no test set");
            var pool = all.Images;
            classes = Math.Max(2, pool.Labels.Max() + 1);
            if (pool.Labels.Any(l => l < 0)) throw new DataFormatException(csv, settings.ImageFolderLabelColumn, "holds a negative class");
            var trainRows = Enumerable.Range(0, pool.Count).Where(i => !isTest[i]).ToArray();
            var prior = Enumerable.Range(0, classes).Select(c => (double)trainRows.Count(i => pool.Labels[i] == c)).ToArray();
            var shares = Partitioners.SizedLabelSkew(weights, prior, settings.LabelSkewAlpha, SeededRandom.Derive(settings.Seed, "sites/partition"));
            ImageShard[] Deal(bool testRows, string stream)
            {
                var rows = Enumerable.Range(0, pool.Count).Where(i => isTest[i] == testRows).ToArray();
                var part = pool.Subset(rows);
                var totals = Enumerable.Range(0, classes).Select(c => part.Labels.Count(l => l == c)).ToArray();
                var dealt = Partitioners.Deal(part.Labels, Partitioners.CountsOf(totals, shares), SeededRandom.Derive(settings.Seed, stream));
                return dealt.Select((indices, i) => scanners[i].Apply(part.Subset(indices), SeededRandom.Derive(settings.Seed, $"{ids[i]}/{stream}/scanner-noise"))).ToArray();
            }
            train = Deal(false, "train");
            test = Deal(true, "test");
            description = $"{Path.GetFileName(Path.TrimEndingDirectorySeparator(folder))}: {isTest.Count(t => !t)} train and {isTest.Count(t => t)} test images, {classes} classes";
        }

        var validation = new ImageShard[k];
        var sites = ids.Select((id, i) =>
        {
            var held = LinearProbe.StratifiedFraction(train[i], settings.ValidationFraction, SeededRandom.Derive(settings.Seed, $"{id}/validation"), atLeastOne: false);
            var heldSet = held.ToHashSet();
            var kept = Enumerable.Range(0, train[i].Count).Where(j => !heldSet.Contains(j)).ToArray();
            if (kept.Length < 2) throw new DataFormatException(settings.DataSource, "site-sizes", $"{kept.Length} training image(s) after the split; give it a larger site size or more images").For(id);
            validation[i] = train[i].Subset(held);
            return new SiteData(id, scanners[i], train[i].Subset(kept), test[i]);
        }).ToList();
        var sizes = string.Join("/", sites.Select(s => s.Train.Count));
        return new ExperimentSites(sites, ImageShard.Concat(test), () => ImageShard.Concat(validation), classes,
            $"{description}; sites of {sizes} training images" + (settings.LabelSkewAlpha is { } a ? $", label skew Dirichlet(α = {a})" : ""));
    }

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
        var ids = Enumerable.Range(0, k).Select(i => ExperimentSettings.HospitalIdOf(i, k)).ToList();
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
            // Dealt before any is read, so a file that cannot be read is named with the hospital (or held-out set) it was for.
            var pairs = NiftiDirectory.Pairs(settings.DataSource);
            var order = SeededRandom.Derive(settings.Seed, "sites/volumes").Permutation(pairs.Count).Select(i => pairs[i]).ToList();
            var held = settings.TestVolumes + settings.ValidationVolumes;
            var single = File.Exists(settings.DataSource);
            if (single) pairs[0].Load(); // one NIfTI file: its format is checked before its count
            if (order.Count < held + k)
                throw new DataFormatException(settings.DataSource, "volumes",
                    $"{order.Count} volume(s) cannot give {settings.TestVolumes} test, {settings.ValidationVolumes} validation and at least one per each of {k} hospitals" +
                    (single ? "; give the directory of volumes instead of one file" : ""));
            static Volume Load(NiftiDirectory.Pair pair, string owner)
            {
                try { return pair.Load(); }
                catch (DataFormatException e) { throw e.For(owner); }
            }
            test = order.Take(settings.TestVolumes).Select((p, j) => Load(p, $"test volume {j + 1}")).ToList();
            validation = order.Skip(settings.TestVolumes).Take(settings.ValidationVolumes).Select((p, j) => Load(p, $"validation volume {j + 1}")).ToList();
            train = ids.Select((id, i) => order.Skip(held).Where((_, j) => j % k == i).Select(p => Load(p, id)).ToList()).ToArray();
            var all = test.Concat(validation).Concat(train.SelectMany(t => t)).ToList();
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
            var id = ExperimentSettings.HospitalIdOf(i, settings.Hospitals);
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
    /// images as its scanner shows them. Models are judged on the official test split as released and site-shifted
    /// (<see cref="TestSplits"/>); the val split, each hospital's share through its scanner, chooses their step.
    /// </summary>
    public static ExperimentSites FromMedMnist(ExperimentSettings settings)
    {
        var data = MedMnistReader.Load(settings.DataSource);
        var train = data["train"].ToShard();
        var test = data["test"].ToShard();
        if (train.Channels != 1) throw new DataFormatException(settings.DataSource, "train_images", $"{train.Channels}-channel images; the encoders take grey images");
        var rng = SeededRandom.Derive(settings.Seed, "sites/partition");
        var parts = settings.LabelSkewAlpha is { } alpha
            ? Partitioners.DirichletLabelSkew(train.Labels, settings.Hospitals, alpha, rng, minPerSite: 2 * settings.MoCo.BatchSize)
            : Partitioners.Iid(train.Count, settings.Hospitals, rng);
        var empty = new ImageShard(train.Height, train.Width, [], []);
        var sites = parts.Select((indices, i) =>
        {
            var id = ExperimentSettings.HospitalIdOf(i, settings.Hospitals);
            var scanner = Scanner(settings, id);
            return new SiteData(id, scanner, scanner.Apply(train.Subset(indices), SeededRandom.Derive(settings.Seed, $"{id}/scanner-noise")), empty);
        }).ToList();
        var classes = train.Labels.Concat(test.Labels).Max() + 1;
        return new ExperimentSites(sites, test, () => SiteShifted(data["val"].ToShard(), sites, settings.Seed, "validation"), classes,
            $"{Path.GetFileName(settings.DataSource)} train split ({train.Count} images) over {settings.Hospitals} hospitals, " +
            (settings.LabelSkewAlpha is { } a ? $"label skew Dirichlet(α = {a})" : "IID") + "; official test split, as released and site-shifted; val split site-shifted",
            testShifted: () => SiteShifted(test, sites, settings.Seed, "test"));
    }

    /// <summary>
    /// Each hospital's training shard as the run would build it (<see cref="ShardSummary"/>), for <c>fedactors validate</c>:
    /// synthetic radiographs are counted from the settings (their class counts are known without drawing an image); every other
    /// source is read and dealt as a run would, so a file that cannot be read fails here, named.
    /// </summary>
    /// <param name="settings">The experiment's settings.</param>
    /// <exception cref="DataFormatException">A data file cannot be read, or does not suit the experiment.</exception>
    public static IReadOnlyList<ShardSummary> Inventory(ExperimentSettings settings)
    {
        if (settings.DataSource == ExperimentSettings.SyntheticSource)
        {
            var counts = SyntheticChestRadiographs.ClassCounts(settings.TrainImagesPerHospital, settings.Classes);
            return Enumerable.Range(0, settings.Hospitals).Select(i => new ShardSummary(ExperimentSettings.HospitalIdOf(i, settings.Hospitals), settings.DataSource,
                settings.TrainImagesPerHospital, 1, settings.ImageSize, settings.ImageSize, counts)).ToList();
        }
        var sites = Create(settings);
        var source = settings.DataSource is ExperimentSettings.SyntheticCardiacSource or ExperimentSettings.SyntheticSkinSource
            ? settings.DataSource
            : Path.GetFileName(Path.TrimEndingDirectorySeparator(settings.DataSource));
        return sites.Sites.Select(s => ShardSummary.Of(s.HospitalId, source, s.Train, sites.Classes)).ToList();
    }

    private static ScannerProfile Scanner(ExperimentSettings settings, string hospitalId) =>
        ScannerProfile.Draw(SeededRandom.Derive(settings.Seed, $"{hospitalId}/scanner"), settings.SiteShift);
}
