using System.Security.Cryptography;
using FedActors.Training.Data.Formats;
using FedActors.Training.Randomness;

namespace FedActors.Training.Data;

/// <summary>
/// The images Fed-MAS's frozen auxiliary encoder (its "public prior") is pre-trained on, named by a source
/// (<c>fedactors auxiliary --source</c>), and the check that none of them is one of the hospitals' images.
/// The paper's prior is a public model trained on data of another origin; here it can be a synthetic lesion
/// archive drawn from its own seed stream, an image folder of another origin, or (the old behaviour, not
/// independent of the clients) the federation's own pooled training images.
/// </summary>
public static class AuxiliaryPriorImages
{
    /// <summary>Source name: the federation's own pooled training images (not independent of the hospitals).</summary>
    public const string PooledTrain = "pooled-train";

    /// <summary>Source name: a public synthetic lesion archive, drawn from the seed stream <see cref="ArchiveStream"/> and no hospital's.</summary>
    public const string SyntheticSkinArchive = "synthetic-skin";

    /// <summary>The seed stream the synthetic archive is drawn from: no hospital's image derives from it.</summary>
    public const string ArchiveStream = "auxiliary/public-archive";

    /// <summary>
    /// A public synthetic skin-lesion archive: <paramref name="count"/> long-tailed images of <paramref name="classes"/> classes,
    /// rendered through the identity scanner with no colour cast (the hospitals' images all go through their own scanner), drawn
    /// from <see cref="ArchiveStream"/> derived from <paramref name="seed"/>.
    /// </summary>
    /// <param name="count">Images in the archive; at least <paramref name="classes"/>.</param>
    /// <param name="classes">Lesion classes, 2 to 8.</param>
    /// <param name="imbalanceRatio">How much more frequent the first class is than the last (at least 1).</param>
    /// <param name="size">Image width and height, at least 16.</param>
    /// <param name="seed">The experiment seed.</param>
    public static ImageShard SyntheticArchive(int count, int classes, double imbalanceRatio, int size, ulong seed) =>
        SyntheticSkinLesions.Generate(SyntheticSkinLesions.LongTailedCounts(count, classes, imbalanceRatio), size, ScannerProfile.Identity,
            (1, 1, 1), SeededRandom.Derive(seed, ArchiveStream));

    /// <summary>Every row of an image folder (<c>images/</c> and <c>labels.csv</c>), all splits, RGB, resized to <paramref name="size"/>.</summary>
    /// <param name="folder">The folder.</param>
    /// <param name="idColumn">labels.csv's id column.</param>
    /// <param name="labelColumn">labels.csv's class column (the prior ignores classes; the shard needs one).</param>
    /// <param name="size">Image width and height.</param>
    /// <returns>The images and their ids.</returns>
    /// <exception cref="FileNotFoundException">The folder has no labels.csv.</exception>
    public static LabeledImageSet ImageFolder(string folder, string idColumn, string labelColumn, int size)
    {
        var csv = Path.Combine(folder, "labels.csv");
        if (!File.Exists(csv)) throw new FileNotFoundException($"auxiliary --source {folder}: no labels.csv there; give an image folder, '{SyntheticSkinArchive}' or '{PooledTrain}'.", csv);
        return ImageFolderReader.Load(new ImageFolderRequest(Path.Combine(folder, "images"), csv, idColumn, [labelColumn], size, size));
    }

    /// <summary>SHA-256 of one image's shape and pixel bytes, as 64 hex digits: two images hash alike only if every pixel is equal.</summary>
    /// <param name="shard">The images.</param>
    /// <param name="index">Which one.</param>
    public static string ImageHash(ImageShard shard, int index)
    {
        var header = BitConverter.GetBytes(shard.Channels).Concat(BitConverter.GetBytes(shard.Height)).Concat(BitConverter.GetBytes(shard.Width));
        var bytes = header.Concat(shard.Pixels.AsSpan(index * shard.PixelsPerImage, shard.PixelsPerImage).ToArray()).ToArray();
        return Convert.ToHexString(SHA256.HashData(bytes));
    }

    /// <summary>
    /// How many of each named set's images are, pixel for pixel (<see cref="ImageHash"/>), one of <paramref name="prior"/>'s
    /// images: 0 for every set means the prior never saw a hospital's image.
    /// </summary>
    /// <param name="prior">The prior's images.</param>
    /// <param name="sets">The sets to compare against (each hospital's train, validation and test images), by name.</param>
    /// <returns>Per set name (sets of one name are added up), the number of its images the prior holds.</returns>
    public static IReadOnlyDictionary<string, int> SharedImages(ImageShard prior, IEnumerable<(string Name, ImageShard Images)> sets)
    {
        var hashes = Enumerable.Range(0, prior.Count).Select(i => ImageHash(prior, i)).ToHashSet(StringComparer.Ordinal);
        var shared = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var (name, images) in sets)
            shared[name] = shared.GetValueOrDefault(name) + Enumerable.Range(0, images.Count).Count(i => hashes.Contains(ImageHash(images, i)));
        return shared;
    }
}
