namespace FedActors.Training.Data;

/// <summary>
/// Images loaded from a folder with their ids and one label array per label column, in
/// CSV row order. <see cref="Images"/> is labelled by the first label column.
/// </summary>
public sealed class LabeledImageSet
{
    public LabeledImageSet(string[] ids, ImageShard images, IReadOnlyList<(string Column, int[] Values)> labels)
    {
        if (images.Count != ids.Length) throw new ArgumentException($"{ids.Length} ids for {images.Count} images.");
        foreach (var (column, values) in labels)
            if (values.Length != ids.Length) throw new ArgumentException($"Label column '{column}' has {values.Length} values for {ids.Length} images.");
        Ids = ids;
        Images = images;
        Labels = labels;
    }

    public string[] Ids { get; }
    public ImageShard Images { get; }
    public IReadOnlyList<(string Column, int[] Values)> Labels { get; }
    public int Count => Ids.Length;

    public int[] LabelsOf(string column) =>
        Labels.FirstOrDefault(l => l.Column == column).Values
        ?? throw new ArgumentException($"No label column '{column}'; loaded {string.Join(", ", Labels.Select(l => l.Column))}.");

    /// <summary>The images labelled by <paramref name="column"/>; pixels are shared, not copied.</summary>
    public ImageShard ToShard(string column) => new(Images.Channels, Images.Height, Images.Width, Images.Pixels, LabelsOf(column));
}
