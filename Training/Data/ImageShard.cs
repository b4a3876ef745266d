using static TorchSharp.torch;

namespace FedActors.Training.Data;

/// <summary>
/// A set of single-channel images with labels, kept compact as bytes (one per pixel);
/// batches are materialised as float tensors in [0, 1] on the requested device.
/// </summary>
public sealed class ImageShard
{
    public ImageShard(int height, int width, byte[] pixels, int[] labels)
    {
        if (height <= 0 || width <= 0) throw new ArgumentException($"Image size must be positive, found {height}x{width}.");
        if (pixels.Length != (long)labels.Length * height * width)
            throw new ArgumentException($"{labels.Length} images of {height}x{width} need {labels.Length * height * width} bytes, found {pixels.Length}.");
        Height = height;
        Width = width;
        Pixels = pixels;
        Labels = labels;
    }

    public int Height { get; }
    public int Width { get; }
    public byte[] Pixels { get; }
    public int[] Labels { get; }
    public int Count => Labels.Length;
    public int PixelsPerImage => Height * Width;

    /// <summary>Images at <paramref name="indices"/> as a float [B, 1, H, W] tensor in [0, 1].</summary>
    public Tensor Images(IReadOnlyList<int> indices, Device device)
    {
        var buffer = new byte[indices.Count * PixelsPerImage];
        for (var i = 0; i < indices.Count; i++)
            Buffer.BlockCopy(Pixels, indices[i] * PixelsPerImage, buffer, i * PixelsPerImage, PixelsPerImage);
        using var bytes = tensor(buffer, [indices.Count, 1, Height, Width], dtype: ScalarType.Byte);
        return bytes.to(device).to_type(ScalarType.Float32).div_(255f);
    }

    public Tensor LabelTensor(IReadOnlyList<int> indices, Device device) =>
        tensor(indices.Select(i => (long)Labels[i]).ToArray(), dtype: ScalarType.Int64, device: device);

    public ImageShard Subset(IReadOnlyList<int> indices)
    {
        var pixels = new byte[indices.Count * PixelsPerImage];
        for (var i = 0; i < indices.Count; i++)
            Buffer.BlockCopy(Pixels, indices[i] * PixelsPerImage, pixels, i * PixelsPerImage, PixelsPerImage);
        return new ImageShard(Height, Width, pixels, indices.Select(i => Labels[i]).ToArray());
    }

    public static ImageShard Concat(IReadOnlyList<ImageShard> shards)
    {
        if (shards.Count == 0) throw new ArgumentException("No shards to concatenate.", nameof(shards));
        var (h, w) = (shards[0].Height, shards[0].Width);
        foreach (var s in shards)
            if (s.Height != h || s.Width != w) throw new ArgumentException($"Cannot concatenate {s.Height}x{s.Width} images with {h}x{w} images.");
        return new ImageShard(h, w, shards.SelectMany(s => s.Pixels).ToArray(), shards.SelectMany(s => s.Labels).ToArray());
    }
}
