namespace FedActors.Training.Data;

/// <summary>
/// Images loaded from a folder with their ids and one label array per label column, in
/// CSV row order. Pixels are bytes, C×H×W per image.
/// </summary>
public sealed class LabeledImageSet
{
    public LabeledImageSet(string[] ids, int channels, int height, int width, byte[] pixels, IReadOnlyList<(string Column, int[] Values)> labels)
    {
        if (pixels.Length != (long)ids.Length * channels * height * width)
            throw new ArgumentException($"{ids.Length} images of {channels}x{height}x{width} need {(long)ids.Length * channels * height * width} bytes, found {pixels.Length}.");
        foreach (var (column, values) in labels)
            if (values.Length != ids.Length) throw new ArgumentException($"Label column '{column}' has {values.Length} values for {ids.Length} images.");
        Ids = ids;
        Channels = channels;
        Height = height;
        Width = width;
        Pixels = pixels;
        Labels = labels;
    }

    public string[] Ids { get; }
    public int Channels { get; }
    public int Height { get; }
    public int Width { get; }
    public byte[] Pixels { get; }
    public IReadOnlyList<(string Column, int[] Values)> Labels { get; }
    public int Count => Ids.Length;

    public int[] LabelsOf(string column) =>
        Labels.FirstOrDefault(l => l.Column == column).Values
        ?? throw new ArgumentException($"No label column '{column}'; loaded {string.Join(", ", Labels.Select(l => l.Column))}.");

    /// <summary>The images as a shard labelled by <paramref name="column"/> (the first label column if null); pixels are shared, not copied.</summary>
    public ImageShard ToShard(string? column = null) =>
        new(Channels, Height, Width, Pixels, column is null ? Labels[0].Values : LabelsOf(column));
}
