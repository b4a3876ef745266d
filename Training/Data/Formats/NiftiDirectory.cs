namespace FedActors.Training.Data.Formats;

/// <summary>
/// A directory of segmented volumes as the shared data sets ship them: <c>&lt;ID&gt;.nii.gz</c> (or
/// <c>.nii</c>) beside its label map <c>&lt;ID&gt;_gt.nii.gz</c>. Volumes come in ID order, each under its ID.
/// </summary>
public static class NiftiDirectory
{
    /// <summary>What a label map's file name adds to its image's ID: <c>&lt;ID&gt;_gt.nii.gz</c> labels <c>&lt;ID&gt;.nii.gz</c>.</summary>
    public const string MaskSuffix = "_gt";

    /// <summary>Loads every image in <paramref name="directory"/> with its label map, in ordinal ID order.</summary>
    /// <param name="directory">The folder holding <c>&lt;ID&gt;.nii(.gz)</c> images and <c>&lt;ID&gt;_gt.nii(.gz)</c> label maps.</param>
    /// <exception cref="DataFormatException">The folder is missing or holds no image, an image has no label map, or a file cannot be read or does not match its pair.</exception>
    public static List<Volume> LoadSegmented(string directory)
    {
        if (!Directory.Exists(directory)) throw new DataFormatException(directory, "directory", "not found");
        var images = Directory.EnumerateFiles(directory)
            .Select(f => (File: f, Id: IdOf(f)))
            .Where(f => f.Id is not null && !f.Id.EndsWith(MaskSuffix, StringComparison.Ordinal))
            .OrderBy(f => f.Id, StringComparer.Ordinal)
            .ToList();
        if (images.Count == 0) throw new DataFormatException(directory, "volumes", "no .nii or .nii.gz image in it");
        return images.Select(f =>
        {
            var mask = new[] { ".nii.gz", ".nii" }.Select(ext => Path.Combine(directory, f.Id + MaskSuffix + ext)).FirstOrDefault(File.Exists)
                       ?? throw new DataFormatException(f.File, "label map", $"no {f.Id}{MaskSuffix}.nii.gz beside it");
            return Volume.From(NiftiReader.LoadWithMask(f.File, mask), f.Id!);
        }).ToList();
    }

    private static string? IdOf(string file)
    {
        var name = Path.GetFileName(file);
        return name.EndsWith(".nii.gz", StringComparison.Ordinal) ? name[..^".nii.gz".Length]
            : name.EndsWith(".nii", StringComparison.Ordinal) ? name[..^".nii".Length] : null;
    }
}
