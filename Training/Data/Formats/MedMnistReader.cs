using System.IO.Compression;

namespace FedActors.Training.Data.Formats;

/// <summary>
/// Reads a MedMNIST .npz (a zip of .npy arrays): every <c>&lt;split&gt;_images.npy</c> with
/// its <c>&lt;split&gt;_labels.npy</c>. Images are (N, H, W) grey, (N, H, W, 3) RGB or
/// (N, D, H, W) volumes; labels are (N,) or (N, 1) class indices.
/// </summary>
public static class MedMnistReader
{
    private const string ImagesSuffix = "_images.npy";
    private const string LabelsSuffix = "_labels.npy";

    /// <summary>Reads every split in the .npz file at <paramref name="path"/> into memory.</summary>
    /// <param name="path">Path of the MedMNIST .npz file.</param>
    /// <exception cref="DataFormatException">The file is missing, not a readable zip, has no split, or an array has an unsupported dtype or shape, or image and label counts differ.</exception>
    public static MedMnistDataset Load(string path)
    {
        if (!File.Exists(path)) throw new DataFormatException(path, "file", "not found");
        var bytes = File.ReadAllBytes(path);
        try
        {
            using var zip = new ZipArchive(new MemoryStream(bytes), ZipArchiveMode.Read);
            var entries = zip.Entries.ToDictionary(e => e.FullName);
            var splitNames = entries.Keys.Where(n => n.EndsWith(ImagesSuffix)).Select(n => n[..^ImagesSuffix.Length])
                .Concat(entries.Keys.Where(n => n.EndsWith(LabelsSuffix)).Select(n => n[..^LabelsSuffix.Length]))
                .Distinct().Order().ToList();
            if (splitNames.Count == 0)
                throw new DataFormatException(path, "entries",
                    $"expected <split>{ImagesSuffix} and <split>{LabelsSuffix}, found {string.Join(", ", entries.Keys)}");
            var splits = new Dictionary<string, MedMnistSplit>();
            foreach (var name in splitNames)
            {
                var images = ReadEntry(entries, path, name + ImagesSuffix);
                var labels = ReadEntry(entries, path, name + LabelsSuffix);
                splits[name] = ToSplit(name, images, labels);
            }
            return new MedMnistDataset(path, splits);
        }
        catch (InvalidDataException e)
        {
            // Truncated or corrupt zip structure or deflate stream.
            throw new DataFormatException(path, "zip archive", $"corrupt or truncated: {e.Message}", e);
        }
    }

    private static NpyArray ReadEntry(Dictionary<string, ZipArchiveEntry> entries, string path, string name)
    {
        if (!entries.TryGetValue(name, out var entry))
            throw new DataFormatException(path, name, $"missing; the file has {string.Join(", ", entries.Keys)}");
        using var stream = entry.Open();
        var buffer = new MemoryStream((int)Math.Min(entry.Length, int.MaxValue));
        stream.CopyTo(buffer);
        return NpyReader.Parse(buffer.ToArray(), path, name);
    }

    private static MedMnistSplit ToSplit(string name, NpyArray images, NpyArray labels)
    {
        var n = images.Shape.Length > 0 ? images.Shape[0] : 0;
        if (labels.Shape.Length is < 1 or > 2 || labels.Shape.Length == 2 && labels.Shape[1] != 1)
            throw labels.Error($"shape {labels.ShapeText}; expected (N,) or (N, 1) class indices (multi-label sets are not supported)");
        if (labels.Shape[0] != n)
            throw labels.Error($"{labels.Shape[0]} labels for {n} images in {images.Name} {images.ShapeText}");
        var classes = labels.ToInt32();
        var s = images.Shape;
        return s.Length switch
        {
            3 => new MedMnistSplit(name, new ImageShard(s[1], s[2], images.ToBytes(), classes)),
            4 when s[3] == 3 => new MedMnistSplit(name, new ImageShard(3, s[1], s[2], ChannelsFirst(images.ToBytes(), n, s[1] * s[2]), classes)),
            4 => new MedMnistSplit(name, new VolumeSet(s[1], s[2], s[3], images.ToBytes(), classes)),
            _ => throw images.Error($"shape {images.ShapeText}; expected (N, H, W), (N, H, W, 3) or (N, D, H, W)"),
        };
    }

    /// <summary>MedMNIST stores RGB as H×W×3; the training code wants 3×H×W.</summary>
    private static byte[] ChannelsFirst(byte[] hwc, int count, int pixels)
    {
        var chw = new byte[hwc.Length];
        for (var i = 0; i < count; i++)
        for (var p = 0; p < pixels; p++)
        for (var c = 0; c < 3; c++)
            chw[(i * 3 + c) * pixels + p] = hwc[(i * pixels + p) * 3 + c];
        return chw;
    }
}
