using FedActors.Training.Sites;
using static TorchSharp.torch;

namespace FedActors.Training.Data;

/// <summary>
/// 2D slices cut from volumes along z, resized to a square and stored as bytes, each
/// tagged with its volume, its slice index and its slice-position partition (FCL's
/// structural label). <see cref="Images"/> carries the partition as its label, so
/// partition-aware learners read it like any other shard; label maps sit beside it.
/// </summary>
public sealed class SliceShard
{
    private SliceShard(ImageShard images, byte[]? masks, int[] volumeOf, int[] sliceOf, int partitions)
    {
        Images = images;
        Masks = masks;
        VolumeOf = volumeOf;
        SliceOf = sliceOf;
        Partitions = partitions;
    }

    /// <summary>Slice images; <c>Labels</c> are partition indices.</summary>
    public ImageShard Images { get; }
    /// <summary>Label maps resized (nearest neighbour) to the slice size, one per slice back to back, one class index per pixel; <see langword="null"/> when the volumes had none.</summary>
    public byte[]? Masks { get; }
    /// <summary>For each slice, the index of its volume in the list it was cut from.</summary>
    public int[] VolumeOf { get; }
    /// <summary>For each slice, its z index within its volume.</summary>
    public int[] SliceOf { get; }
    /// <summary>Number of slice-position partitions each volume's depth is divided into (see <see cref="SlicePartitions"/>).</summary>
    public int Partitions { get; }
    /// <summary>Number of slices.</summary>
    public int Count => Images.Count;
    /// <summary>For each slice, its partition index in [0, <see cref="Partitions"/>); the same array as <see cref="Images"/>' labels.</summary>
    public int[] Partition => Images.Labels;

    /// <summary>
    /// Slices of every volume, intensities mapped per volume from its 1st–99th percentile
    /// to [0, 255] (robust to outliers and to a site's gain), resized to size×size.
    /// <paramref name="foregroundOnly"/> keeps only slices whose label map has a foreground voxel.
    /// </summary>
    public static SliceShard FromVolumes(IReadOnlyList<Volume> volumes, int partitions, int size, bool foregroundOnly = false)
    {
        if (volumes.Count == 0) throw new ArgumentException("No volumes to slice.", nameof(volumes));
        var withMasks = volumes[0].Labels is not null;
        var pixels = new List<byte>();
        var masks = new List<byte>();
        var volumeOf = new List<int>();
        var sliceOf = new List<int>();
        var partitionOf = new List<int>();
        for (var v = 0; v < volumes.Count; v++)
        {
            var vol = volumes[v];
            vol.Validate();
            if ((vol.Labels is not null) != withMasks)
                throw new ArgumentException($"Volume '{vol.Id}' {(withMasks ? "lacks" : "has")} a label map unlike volume '{volumes[0].Id}'.");
            var (lo, hi) = Percentiles(vol.Voxels, 0.01, 0.99);
            var scale = hi > lo ? 255.0 / (hi - lo) : 0;
            for (var z = 0; z < vol.Depth; z++)
            {
                if (foregroundOnly && !vol.LabelSlice(z).ContainsAnyExcept((byte)0)) continue;
                var resized = PlaneResampling.Bilinear(vol.Slice(z), vol.Height, vol.Width, size, size);
                foreach (var value in resized) pixels.Add((byte)Math.Clamp(Math.Round((value - lo) * scale), 0, 255));
                if (withMasks) masks.AddRange(PlaneResampling.Nearest(vol.LabelSlice(z), vol.Height, vol.Width, size, size));
                volumeOf.Add(v);
                sliceOf.Add(z);
                partitionOf.Add(SlicePartitions.Of(z, vol.Depth, partitions));
            }
        }
        if (volumeOf.Count == 0) throw new ArgumentException("No slice survived the selection (no foreground in any volume?).");
        return new SliceShard(new ImageShard(size, size, pixels.ToArray(), partitionOf.ToArray()),
            withMasks ? masks.ToArray() : null, volumeOf.ToArray(), sliceOf.ToArray(), partitions);
    }

    /// <summary>Label maps at <paramref name="indices"/> as an int64 [B, H, W] tensor.</summary>
    public Tensor MaskTensor(IReadOnlyList<int> indices, Device device)
    {
        if (Masks is null) throw new InvalidOperationException("These slices carry no label maps.");
        var n = Images.PixelsPerImage;
        var buffer = new byte[indices.Count * n];
        for (var i = 0; i < indices.Count; i++) Buffer.BlockCopy(Masks, indices[i] * n, buffer, i * n, n);
        using var bytes = tensor(buffer, [indices.Count, Images.Height, Images.Width], dtype: ScalarType.Byte);
        return bytes.to(device).to_type(ScalarType.Int64);
    }

    /// <summary>The slices of the given volumes (by index in the source list), in their original order.</summary>
    public SliceShard OfVolumes(IReadOnlyCollection<int> volumes)
    {
        var keep = Enumerable.Range(0, Count).Where(i => volumes.Contains(VolumeOf[i])).ToArray();
        var n = Images.PixelsPerImage;
        byte[]? masks = null;
        if (Masks is not null)
        {
            masks = new byte[keep.Length * n];
            for (var i = 0; i < keep.Length; i++) Buffer.BlockCopy(Masks, keep[i] * n, masks, i * n, n);
        }
        return new SliceShard(Images.Subset(keep), masks, keep.Select(i => VolumeOf[i]).ToArray(),
            keep.Select(i => SliceOf[i]).ToArray(), Partitions);
    }

    /// <summary>The same slices seen through other pixels (a site's scanner), masks and tags unchanged.</summary>
    public SliceShard WithImages(ImageShard images)
    {
        if (images.Count != Count || images.Height != Images.Height || images.Width != Images.Width || !images.Labels.SequenceEqual(Images.Labels))
            throw new ArgumentException($"Replacement images must be the same {Count} slices of {Images.Height}×{Images.Width} with the same partitions.", nameof(images));
        return new SliceShard(images, Masks, VolumeOf, SliceOf, Partitions);
    }

    /// <summary>The slices of several shards in order; volume indices are renumbered so volumes of different shards stay apart.</summary>
    public static SliceShard Concat(IReadOnlyList<SliceShard> shards)
    {
        if (shards.Count == 0) throw new ArgumentException("No slice shards to concatenate.", nameof(shards));
        if (shards.Any(s => s.Partitions != shards[0].Partitions || (s.Masks is null) != (shards[0].Masks is null)))
            throw new ArgumentException("Slice shards to concatenate must have the same partition count and all or none carry masks.", nameof(shards));
        var volumeOf = new List<int>();
        var offset = 0;
        foreach (var s in shards)
        {
            volumeOf.AddRange(s.VolumeOf.Select(v => v + offset));
            offset += s.VolumeOf.Length == 0 ? 0 : s.VolumeOf.Max() + 1;
        }
        return new SliceShard(ImageShard.Concat(shards.Select(s => s.Images).ToList()),
            shards[0].Masks is null ? null : shards.SelectMany(s => s.Masks!).ToArray(), volumeOf.ToArray(),
            shards.SelectMany(s => s.SliceOf).ToArray(), shards[0].Partitions);
    }

    private static (double Lo, double Hi) Percentiles(float[] values, double lo, double hi)
    {
        // A strided sample is plenty for percentiles of a few million voxels.
        var stride = Math.Max(1, values.Length / 200_000);
        var sample = new List<float>(values.Length / stride + 1);
        for (var i = 0; i < values.Length; i += stride) sample.Add(values[i]);
        sample.Sort();
        return (sample[(int)(lo * (sample.Count - 1))], sample[(int)(hi * (sample.Count - 1))]);
    }
}
