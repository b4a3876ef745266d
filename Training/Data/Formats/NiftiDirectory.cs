namespace FedActors.Training.Data.Formats;

/// <summary>
/// A directory of segmented volumes as the shared data sets ship them: <c>&lt;ID&gt;.nii.gz</c> (or
/// <c>.nii</c>) beside its label map <c>&lt;ID&gt;_gt.nii.gz</c>. Volumes come in ID order, each under its ID.
/// One such image file given alone is a source of that one volume (its label map beside it).
/// </summary>
public static class NiftiDirectory
{
    /// <summary>What a label map's file name adds to its image's ID: <c>&lt;ID&gt;_gt.nii.gz</c> labels <c>&lt;ID&gt;.nii.gz</c>.</summary>
    public const string MaskSuffix = "_gt";

    /// <summary>One volume of a source before it is read: its ID, image file and label-map file.</summary>
    /// <param name="Id">The file name without <c>.nii</c>/<c>.nii.gz</c>.</param>
    /// <param name="Image">The image file's path.</param>
    /// <param name="Mask">The label map's path (<c>&lt;ID&gt;_gt.nii.gz</c> or <c>.nii</c> beside the image).</param>
    public sealed record Pair(string Id, string Image, string Mask)
    {
        /// <summary>Reads the image and its label map (<see cref="NiftiReader.LoadWithMask"/>) as a volume named by <see cref="Id"/>.</summary>
        /// <exception cref="DataFormatException">Either file cannot be read, or they do not describe the same grid.</exception>
        public Volume Load() => Volume.From(NiftiReader.LoadWithMask(Image, Mask), Id);
    }

    /// <summary>Whether <paramref name="path"/> names a NIfTI file by its extension (<c>.nii</c> or <c>.nii.gz</c>).</summary>
    /// <param name="path">A file path.</param>
    public static bool IsNiftiFile(string path) => IdOf(path) is not null;

    /// <summary>
    /// The volumes of <paramref name="source"/> in ordinal ID order, without reading them: every image of a directory with its
    /// label map, or the one image a <c>.nii(.gz)</c> file path names with the label map beside it.
    /// </summary>
    /// <param name="source">A folder of <c>&lt;ID&gt;.nii(.gz)</c> images and <c>&lt;ID&gt;_gt.nii(.gz)</c> label maps, or one such image.</param>
    /// <exception cref="DataFormatException">The source is missing or holds no image, or an image has no label map.</exception>
    public static List<Pair> Pairs(string source)
    {
        if (File.Exists(source) && IsNiftiFile(source))
        {
            var id = IdOf(source)!;
            if (id.EndsWith(MaskSuffix, StringComparison.Ordinal))
                throw new DataFormatException(source, "file name", $"is a label map ({MaskSuffix}); give its image, {id[..^MaskSuffix.Length]}.nii.gz");
            return [new Pair(id, source, MaskOf(Path.GetDirectoryName(Path.GetFullPath(source))!, id, source))];
        }
        if (!Directory.Exists(source)) throw new DataFormatException(source, "directory", "not found");
        var images = Directory.EnumerateFiles(source)
            .Select(f => (File: f, Id: IdOf(f)))
            .Where(f => f.Id is not null && !f.Id.EndsWith(MaskSuffix, StringComparison.Ordinal))
            .OrderBy(f => f.Id, StringComparer.Ordinal)
            .ToList();
        if (images.Count == 0) throw new DataFormatException(source, "volumes", "no .nii or .nii.gz image in it");
        return images.Select(f => new Pair(f.Id!, f.File, MaskOf(source, f.Id!, f.File))).ToList();
    }

    /// <summary>Loads every image in <paramref name="directory"/> with its label map, in ordinal ID order.</summary>
    /// <param name="directory">The folder holding <c>&lt;ID&gt;.nii(.gz)</c> images and <c>&lt;ID&gt;_gt.nii(.gz)</c> label maps, or one such image.</param>
    /// <exception cref="DataFormatException">The folder is missing or holds no image, an image has no label map, or a file cannot be read or does not match its pair.</exception>
    public static List<Volume> LoadSegmented(string directory) => Pairs(directory).Select(p => p.Load()).ToList();

    private static string MaskOf(string directory, string id, string image) =>
        new[] { ".nii.gz", ".nii" }.Select(ext => Path.Combine(directory, id + MaskSuffix + ext)).FirstOrDefault(File.Exists)
        ?? throw new DataFormatException(image, "label map", $"no {id}{MaskSuffix}.nii.gz beside it");

    private static string? IdOf(string file)
    {
        var name = Path.GetFileName(file);
        return name.EndsWith(".nii.gz", StringComparison.Ordinal) ? name[..^".nii.gz".Length]
            : name.EndsWith(".nii", StringComparison.Ordinal) ? name[..^".nii".Length] : null;
    }
}
