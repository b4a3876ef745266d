using static TorchSharp.torch;

namespace FedActors.Training.Data;

/// <summary>
/// A set of images with labels, kept compact as bytes (channel-major, C×H×W per image);
/// batches are materialised as float tensors in [0, 1] on the requested device.
/// Single-channel unless built with a channel count (RGB sets use 3).
/// </summary>
public sealed class ImageShard
{
    public ImageShard(int height, int width, byte[] pixels, int[] labels) : this(1, height, width, pixels, labels) { }

    public ImageShard(int channels, int height, int width, byte[] pixels, int[] labels)
    {
        if (channels <= 0) throw new ArgumentException($"Channel count must be positive, found {channels}.");
        if (height <= 0 || width <= 0) throw new ArgumentException($"Image size must be positive, found {height}x{width}.");
        if (pixels.Length != (long)labels.Length * channels * height * width)
            throw new ArgumentException(
                $"{labels.Length} images of {channels}x{height}x{width} need {(long)labels.Length * channels * height * width} bytes, found {pixels.Length}.");
        Channels = channels;
        Height = height;
        Width = width;
        Pixels = pixels;
        Labels = labels;
    }

    public int Channels { get; }
    public int Height { get; }
    public int Width { get; }
    public byte[] Pixels { get; }
    public int[] Labels { get; }
    public int Count => Labels.Length;
    public int PixelsPerImage => Channels * Height * Width;

    /// <summary>Images at <paramref name="indices"/> as a float [B, C, H, W] tensor in [0, 1].</summary>
    public Tensor Images(IReadOnlyList<int> indices, Device device)
    {
        using var bytes = tensor(Gather(indices), [indices.Count, Channels, Height, Width], dtype: ScalarType.Byte);
        return bytes.to(device).to_type(ScalarType.Float32).div_(255f);
    }

    public Tensor LabelTensor(IReadOnlyList<int> indices, Device device) =>
        tensor(indices.Select(i => (long)Labels[i]).ToArray(), dtype: ScalarType.Int64, device: device);

    public ImageShard Subset(IReadOnlyList<int> indices) =>
        new(Channels, Height, Width, Gather(indices), indices.Select(i => Labels[i]).ToArray());

    public static ImageShard Concat(IReadOnlyList<ImageShard> shards)
    {
        if (shards.Count == 0) throw new ArgumentException("No shards to concatenate.", nameof(shards));
        var (c, h, w) = (shards[0].Channels, shards[0].Height, shards[0].Width);
        foreach (var s in shards)
            if (s.Channels != c || s.Height != h || s.Width != w)
                throw new ArgumentException($"Cannot concatenate {s.Channels}x{s.Height}x{s.Width} images with {c}x{h}x{w} images.");
        return new ImageShard(c, h, w, shards.SelectMany(s => s.Pixels).ToArray(), shards.SelectMany(s => s.Labels).ToArray());
    }

    private byte[] Gather(IReadOnlyList<int> indices)
    {
        var buffer = new byte[indices.Count * PixelsPerImage];
        for (var i = 0; i < indices.Count; i++)
            Buffer.BlockCopy(Pixels, indices[i] * PixelsPerImage, buffer, i * PixelsPerImage, PixelsPerImage);
        return buffer;
    }
}
