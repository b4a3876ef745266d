using static TorchSharp.torch;

namespace FedActors.Training.Data;

/// <summary>
/// A set of images with labels, kept compact as bytes (channel-major, C×H×W per image);
/// batches are materialised as float tensors in [0, 1] on the requested device.
/// Single-channel unless built with a channel count (RGB sets use 3).
/// </summary>
public sealed class ImageShard
{
    /// <summary>Creates a single-channel (greyscale) shard.</summary>
    /// <param name="height">Image height in pixels; positive.</param>
    /// <param name="width">Image width in pixels; positive.</param>
    /// <param name="pixels">Image bytes, H×W per image, images back to back; the shard keeps this array without copying.</param>
    /// <param name="labels">One class index per image; its length is the image count.</param>
    /// <exception cref="ArgumentException">A size is not positive, or <paramref name="pixels"/> does not hold exactly one image per label.</exception>
    public ImageShard(int height, int width, byte[] pixels, int[] labels) : this(1, height, width, pixels, labels) { }

    /// <summary>Creates a shard of <paramref name="channels"/>-channel images.</summary>
    /// <param name="channels">Channels per image: 1 for greyscale, 3 for RGB; positive.</param>
    /// <param name="height">Image height in pixels; positive.</param>
    /// <param name="width">Image width in pixels; positive.</param>
    /// <param name="pixels">Image bytes, channel-major (C×H×W) per image, images back to back; the shard keeps this array without copying.</param>
    /// <param name="labels">One class index per image; its length is the image count.</param>
    /// <exception cref="ArgumentException">A size is not positive, or <paramref name="pixels"/> does not hold exactly one image per label.</exception>
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

    /// <summary>Channels per image: 1 for greyscale, 3 for RGB.</summary>
    public int Channels { get; }
    /// <summary>Image height in pixels.</summary>
    public int Height { get; }
    /// <summary>Image width in pixels.</summary>
    public int Width { get; }
    /// <summary>All image bytes, channel-major (C×H×W) per image, images back to back; shared, not copied, so do not modify.</summary>
    public byte[] Pixels { get; }
    /// <summary>Class index of each image, in image order; shared, not copied, so do not modify.</summary>
    public int[] Labels { get; }
    /// <summary>Number of images in the shard.</summary>
    public int Count => Labels.Length;
    /// <summary>Bytes per image: <see cref="Channels"/> × <see cref="Height"/> × <see cref="Width"/>.</summary>
    public int PixelsPerImage => Channels * Height * Width;

    /// <summary>Images at <paramref name="indices"/> as a float [B, C, H, W] tensor in [0, 1].</summary>
    public Tensor Images(IReadOnlyList<int> indices, Device device)
    {
        using var bytes = tensor(Gather(indices), [indices.Count, Channels, Height, Width], dtype: ScalarType.Byte);
        return bytes.to(device).to_type(ScalarType.Float32).div_(255f);
    }

    /// <summary>Labels of the images at <paramref name="indices"/> as an int64 [B] tensor on <paramref name="device"/>; the caller disposes it.</summary>
    /// <param name="indices">Image indices, in batch order; repeats are allowed.</param>
    /// <param name="device">Device the tensor is created on.</param>
    public Tensor LabelTensor(IReadOnlyList<int> indices, Device device) =>
        tensor(indices.Select(i => (long)Labels[i]).ToArray(), dtype: ScalarType.Int64, device: device);

    /// <summary>A new shard holding copies of the images (and their labels) at <paramref name="indices"/>, in that order.</summary>
    /// <param name="indices">Image indices to keep; repeats are allowed.</param>
    public ImageShard Subset(IReadOnlyList<int> indices) =>
        new(Channels, Height, Width, Gather(indices), indices.Select(i => Labels[i]).ToArray());

    /// <summary>A new shard holding the images of all <paramref name="shards"/>, one after another, copied.</summary>
    /// <param name="shards">Shards to join; at least one, all with the same channel count and image size.</param>
    /// <exception cref="ArgumentException"><paramref name="shards"/> is empty or the image shapes differ.</exception>
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
