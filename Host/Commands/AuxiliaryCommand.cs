using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using FedActors.Host.Configuration;
using FedActors.Training.Data;
using FedActors.Training.Experiments;

namespace FedActors.Host.Commands;

/// <summary>
/// <c>fedactors auxiliary [experiment.conf] --out FILE [--epochs N] [--source S] [--source-images N] [--set key=value ...]</c>:
/// Fed-MAS's frozen auxiliary encoder. No public MoCo v2 checkpoint can be downloaded here, so it is pre-trained with
/// the project's own MoCo v2 (the experiment's moco settings and network) on the images <c>--source</c> names
/// (<see cref="AuxiliaryPriorImages"/>): a synthetic lesion archive drawn from its own seed stream (the default), an
/// image folder of another origin, or the federation's own pooled training images (not independent of the hospitals).
/// Except for the last, it refuses a prior that holds any hospital's train, validation or test image (by content hash,
/// and by id for an image folder). It saves a weights file whose content hash the experiment then names
/// (fedmas.auxiliary, fedmas.auxiliary-hash) and, beside it, <c>FILE.source.json</c> saying what it was trained on.
/// </summary>
public static class AuxiliaryCommand
{
    /// <summary>Appended to <c>--out</c> for the file that records what the prior was trained on.</summary>
    public const string SourceSuffix = ".source.json";

    /// <summary>The auxiliary command's own options (the experiment file and <c>--set</c> are parsed by the caller).</summary>
    /// <param name="Out">The weights file the pre-trained encoder is written to (<c>--out</c>); its folder is created if missing.</param>
    /// <param name="Epochs">Calls of MoCo v2 training over the prior's images, each of moco.local-epochs passes (<c>--epochs</c>, default 20, at least 1).</param>
    /// <param name="Source">What the prior is trained on (<c>--source</c>): <c>synthetic-skin</c> (default), <c>pooled-train</c>, or an image folder's path.</param>
    /// <param name="SourceImages">Images in the synthetic archive (<c>--source-images</c>, default 2000, at least the experiment's classes); ignored by the other sources.</param>
    public sealed record Options(string Out, int Epochs, string Source = AuxiliaryPriorImages.SyntheticSkinArchive, int SourceImages = 2000);

    /// <summary>Takes --out, --epochs, --source and --source-images out of <paramref name="args"/>, leaving the experiment file and --set for the caller.</summary>
    public static Options Parse(List<string> args)
    {
        string? output = null;
        var (epochs, images) = (20, 2000);
        var source = AuxiliaryPriorImages.SyntheticSkinArchive;
        for (var i = 0; i < args.Count; i++)
        {
            if (args[i] is not ("--out" or "--epochs" or "--source" or "--source-images")) continue;
            if (i + 1 >= args.Count) throw new ArgumentException($"{args[i]} needs a value.");
            var value = args[i + 1];
            switch (args[i])
            {
                case "--out": output = value; break;
                case "--source": source = value; break;
                case "--epochs": epochs = Positive(args[i], value); break;
                default: images = Positive(args[i], value); break;
            }
            args.RemoveRange(i, 2);
            i--;
        }
        return new Options(output ?? throw new ArgumentException("auxiliary needs --out FILE, where the encoder is written."), epochs, source, images);
    }

    private static int Positive(string option, string value) =>
        int.TryParse(value, NumberStyles.Integer, CultureInfo.InvariantCulture, out var n) && n >= 1 ? n
            : throw new ArgumentException($"{option} expects a positive whole number, found '{value}'.");

    /// <summary>What the prior was trained on and the check that it holds no hospital's image (written to <c>FILE.source.json</c>).</summary>
    /// <param name="Source">The <c>--source</c> value.</param>
    /// <param name="Description">In words: where the images come from and whether they are independent of the hospitals.</param>
    /// <param name="Images">How many images the prior was trained on.</param>
    /// <param name="Independent">True when the disjointness check ran and found no hospital image in the prior (false for <c>pooled-train</c>).</param>
    /// <param name="Checked">Per checked set (train, validation, test over every hospital), how many of its images were hashed.</param>
    public sealed record PriorSource(string Source, string Description, int Images, bool Independent, IReadOnlyDictionary<string, int> Checked);

    /// <summary>
    /// The prior's images for <paramref name="experiment"/>, and the proof they are none of its hospitals' images.
    /// </summary>
    /// <param name="experiment">The experiment whose hospitals the prior must not have seen.</param>
    /// <param name="options">The <c>--source</c> and <c>--source-images</c> options.</param>
    /// <exception cref="ArgumentException">The prior shares an image (by content hash) or an id (same image folder) with a hospital; the message names the set.</exception>
    public static (ImageShard Images, PriorSource Source) PriorImages(FederatedExperiment experiment, Options options)
    {
        var settings = experiment.Settings;
        var sites = experiment.Sites;
        if (options.Source == AuxiliaryPriorImages.PooledTrain)
            return (sites.PooledTrain(), new PriorSource(options.Source,
                "the federation's own pooled training images (NOT independent of the hospitals)", sites.PooledTrain().Count, false, new Dictionary<string, int>()));
        ImageShard images;
        string description;
        if (options.Source == AuxiliaryPriorImages.SyntheticSkinArchive)
        {
            var classes = SyntheticSkinLesions.ClassNames.Length; // the archive holds every lesion type, whatever the hospitals' task
            images = AuxiliaryPriorImages.SyntheticArchive(Math.Max(options.SourceImages, classes), classes, settings.ImbalanceRatio, settings.ImageSize, settings.Seed);
            description = FormattableString.Invariant(
                $"a public synthetic lesion archive: {images.Count} long-tailed images of {classes} classes, identity scanner, seed stream '{AuxiliaryPriorImages.ArchiveStream}' of seed {settings.Seed}");
        }
        else
        {
            var folder = Path.GetFullPath(options.Source);
            var set = AuxiliaryPriorImages.ImageFolder(folder, settings.ImageFolderIdColumn, settings.ImageFolderLabelColumn, settings.ImageSize);
            if (settings.IsImageFolder)
            {
                var own = Training.Data.Formats.CsvTable.Read(Path.Combine(settings.DataSource, ExperimentSettings.ImageFolderLabels));
                var column = own.Column(settings.ImageFolderIdColumn);
                var ids = own.Rows.Select(r => r.Fields[column]).ToHashSet(StringComparer.Ordinal);
                var sharedIds = set.Ids.Count(ids.Contains);
                if (sharedIds > 0)
                    throw new ArgumentException($"auxiliary --source {options.Source}: {sharedIds} of its {set.Count} image ids are the hospitals' own ({settings.DataSource}); the prior must be trained on other images.");
            }
            images = set.Images;
            description = $"image folder {folder}: all {images.Count} rows";
        }
        var sets = sites.Sites.SelectMany(s => new[] { ("train", s.Train), ("test", s.Test) }).Append(("validation", sites.Validation)).ToList();
        var shared = AuxiliaryPriorImages.SharedImages(images, sets);
        if (shared.FirstOrDefault(kv => kv.Value > 0) is { Value: > 0 } overlap)
            throw new ArgumentException($"auxiliary --source {options.Source}: {overlap.Value} of the hospitals' {overlap.Key} images are in the prior (same pixels); the prior must be trained on other images.");
        var counted = sets.GroupBy(s => s.Item1).ToDictionary(g => g.Key, g => g.Sum(s => s.Item2.Count), StringComparer.Ordinal);
        return (images, new PriorSource(options.Source, description, images.Count, true, counted));
    }

    /// <summary>
    /// Pre-trains the auxiliary encoder with MoCo v2 on the images <see cref="Options.Source"/> names (checked against every
    /// hospital's, see <see cref="PriorImages"/>), saves it to <see cref="Options.Out"/> and what it was trained on to
    /// <c>Out</c> + <see cref="SourceSuffix"/>, prints what it was trained on, the linear-probe balanced accuracy of it and of a random encoder, then the
    /// <c>fedactors.fedmas.auxiliary</c> and <c>fedactors.fedmas.auxiliary-hash</c> lines for the experiment file.
    /// </summary>
    /// <param name="config">The experiment whose data, network and MoCo settings are used (its method is ignored).</param>
    /// <param name="options">Where to write the encoder and how many epochs to train.</param>
    /// <param name="output">Where progress and the configuration lines are written.</param>
    /// <returns><see cref="Program.Ok"/>.</returns>
    public static int Execute(ExperimentConfig config, Options options, TextWriter output)
    {
        var wall = Stopwatch.StartNew();
        Training.TorchRuntime.ConfigureThreads(config.Host.TorchThreads);
        var experiment = new FederatedExperiment(config.Experiment);
        var (pool, source) = PriorImages(experiment, options);
        output.WriteLine($"auxiliary encoder trained on: {source.Description}");
        output.WriteLine(source.Independent
            ? $"disjoint from the hospitals: none of their {string.Join(", ", source.Checked.Select(kv => $"{kv.Value} {kv.Key}"))} images is in the prior (SHA-256 of pixels)"
            : "not independent: the prior has seen every hospital's training images");
        output.WriteLine($"auxiliary encoder: MoCo v2 on {pool.Count} images, {options.Epochs} call(s) of {config.Experiment.MoCo.LocalEpochs} epoch(s), seed {config.Experiment.Seed}; hospitals: {experiment.Sites.Description}");
        using var learner = experiment.CreateLearner("auxiliary");
        for (var epoch = 1; epoch <= options.Epochs; epoch++)
        {
            var result = learner.Train(pool);
            output.WriteLine(FormattableString.Invariant($"epoch {epoch}/{options.Epochs}  loss {result.MeanLoss:F4}"));
        }
        var weights = learner.ExportWeights();
        var directory = Path.GetDirectoryName(Path.GetFullPath(options.Out));
        if (directory is not null) Directory.CreateDirectory(directory);
        weights.Save(options.Out);
        var probe = experiment.Probe(weights).BalancedAccuracy;
        var random = experiment.Probe(experiment.InitialGlobal()).BalancedAccuracy;
        output.WriteLine(FormattableString.Invariant($"linear probe balanced accuracy: auxiliary encoder {probe:F3}, random encoder {random:F3}"));
        File.WriteAllText(options.Out + SourceSuffix, JsonSerializer.Serialize(new
        {
            source = source.Source, description = source.Description, images = source.Images, independent = source.Independent,
            hospital_images_checked = source.Checked, shared_images = source.Independent ? 0 : pool.Count, epochs = options.Epochs, seed = config.Experiment.Seed,
            content_hash = weights.ContentHash, probe_balanced_accuracy = probe, random_probe_balanced_accuracy = random,
        }, new JsonSerializerOptions { WriteIndented = true, Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping }));
        output.WriteLine(FormattableString.Invariant($"wrote {options.Out} in {wall.Elapsed.TotalSeconds:F0} s; for the experiment:"));
        output.WriteLine($"fedactors.fedmas.auxiliary = \"{Path.GetFullPath(options.Out)}\"");
        output.WriteLine($"fedactors.fedmas.auxiliary-hash = {weights.ContentHash}");
        return Program.Ok;
    }
}
