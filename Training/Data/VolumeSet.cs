using static TorchSharp.torch;

namespace FedActors.Training.Data;

/// <summary>
/// A set of single-channel volumes with labels, kept compact as bytes; each volume is
/// D×H×W in C order (the last axis, width, varies fastest). Batches are materialised as
/// float [B, 1, D, H, W] tensors in [0, 1].
/// </summary>
public sealed class VolumeSet
{
    /// <summary>Creates a set of <paramref name="labels"/>.Length volumes.</summary>
    /// <param name="depth">Slices per volume; positive.</param>
    /// <param name="height">Rows per slice; positive.</param>
    /// <param name="width">Columns per slice; positive.</param>
    /// <param name="voxels">Voxel bytes, D×H×W per volume in C order, volumes back to back; kept without copying.</param>
    /// <param name="labels">One class index per volume.</param>
    /// <exception cref="ArgumentException">A size is not positive, or <paramref name="voxels"/> does not hold exactly one volume per label.</exception>
    public VolumeSet(int depth, int height, int width, byte[] voxels, int[] labels)
    {
        if (depth <= 0 || height <= 0 || width <= 0)
            throw new ArgumentException($"Volume size must be positive, found {depth}x{height}x{width}.");
        if (voxels.Length != (long)labels.Length * depth * height * width)
            throw new ArgumentException(
                $"{labels.Length} volumes of {depth}x{height}x{width} need {(long)labels.Length * depth * height * width} bytes, found {voxels.Length}.");
        Depth = depth;
        Height = height;
        Width = width;
        Voxels = voxels;
        Labels = labels;
    }

    /// <summary>Slices per volume (first axis).</summary>
    public int Depth { get; }
    /// <summary>Rows per slice.</summary>
    public int Height { get; }
    /// <summary>Columns per slice (the fastest-varying axis).</summary>
    public int Width { get; }
    /// <summary>All voxel bytes, D×H×W per volume in C order, volumes back to back; shared, not copied.</summary>
    public byte[] Voxels { get; }
    /// <summary>Class index of each volume, in order.</summary>
    public int[] Labels { get; }
    /// <summary>Number of volumes.</summary>
    public int Count => Labels.Length;
    /// <summary>Bytes per volume: <see cref="Depth"/> × <see cref="Height"/> × <see cref="Width"/>.</summary>
    public int VoxelsPerVolume => Depth * Height * Width;

    /// <summary>The voxels of volume <paramref name="index"/>, D×H×W in C order.</summary>
    public ReadOnlySpan<byte> Volume(int index) => Voxels.AsSpan(index * VoxelsPerVolume, VoxelsPerVolume);

    /// <summary>Volumes at <paramref name="indices"/> as a float [B, 1, D, H, W] tensor in [0, 1].</summary>
    public Tensor Volumes(IReadOnlyList<int> indices, Device device)
    {
        var buffer = new byte[indices.Count * VoxelsPerVolume];
        for (var i = 0; i < indices.Count; i++)
            Volume(indices[i]).CopyTo(buffer.AsSpan(i * VoxelsPerVolume));
        using var bytes = tensor(buffer, [indices.Count, 1, Depth, Height, Width], dtype: ScalarType.Byte);
        return bytes.to(device).to_type(ScalarType.Float32).div_(255f);
    }
}
