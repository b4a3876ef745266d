namespace FedActors.Training.Data;

/// <summary>
/// Images loaded from a folder with their ids and one label array per label column, in
/// CSV row order. <see cref="Images"/> is labelled by the first label column.
/// </summary>
public sealed class LabeledImageSet
{
    /// <summary>Creates a set from parallel arrays, one entry per image, in CSV row order.</summary>
    /// <param name="ids">Each image's value in the CSV id column.</param>
    /// <param name="images">The decoded images; its own labels are those of the first label column.</param>
    /// <param name="labels">Each label column's name and its integer label per image.</param>
    /// <exception cref="ArgumentException">The id, image and label counts differ.</exception>
    public LabeledImageSet(string[] ids, ImageShard images, IReadOnlyList<(string Column, int[] Values)> labels)
    {
        if (images.Count != ids.Length) throw new ArgumentException($"{ids.Length} ids for {images.Count} images.");
        foreach (var (column, values) in labels)
            if (values.Length != ids.Length) throw new ArgumentException($"Label column '{column}' has {values.Length} values for {ids.Length} images.");
        Ids = ids;
        Images = images;
        Labels = labels;
    }

    /// <summary>Each image's value in the CSV id column (its file name, with or without extension), in row order.</summary>
    public string[] Ids { get; }
    /// <summary>The decoded images, labelled by the first label column; use <see cref="ToShard"/> for another column.</summary>
    public ImageShard Images { get; }
    /// <summary>Each requested label column's name and its integer label per image, in request order.</summary>
    public IReadOnlyList<(string Column, int[] Values)> Labels { get; }
    /// <summary>Number of images loaded (CSV rows kept by the filter).</summary>
    public int Count => Ids.Length;

    /// <summary>The integer labels of <paramref name="column"/>, one per image.</summary>
    /// <param name="column">A label column named in the request (case-sensitive).</param>
    /// <exception cref="ArgumentException">No such label column was loaded.</exception>
    public int[] LabelsOf(string column) =>
        Labels.FirstOrDefault(l => l.Column == column).Values
        ?? throw new ArgumentException($"No label column '{column}'; loaded {string.Join(", ", Labels.Select(l => l.Column))}.");

    /// <summary>The images labelled by <paramref name="column"/>; pixels are shared, not copied.</summary>
    public ImageShard ToShard(string column) => new(Images.Channels, Images.Height, Images.Width, Images.Pixels, LabelsOf(column));
}
