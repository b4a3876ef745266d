using static TorchSharp.torch;

namespace FedActors.Training.Data;

/// <summary>
/// A set of single-channel volumes with labels, kept compact as bytes; each volume is
/// D×H×W in C order (the last axis, width, varies fastest). Batches are materialised as
/// float [B, 1, D, H, W] tensors in [0, 1].
/// </summary>
public sealed class VolumeSet
{
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

    public int Depth { get; }
    public int Height { get; }
    public int Width { get; }
    public byte[] Voxels { get; }
    public int[] Labels { get; }
    public int Count => Labels.Length;
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
