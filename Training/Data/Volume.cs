namespace FedActors.Training.Data;

/// <summary>
/// A 3D scan with an optional label map, z-major: voxel (z, y, x) is at
/// [(z·Height + y)·Width + x]. Slices are taken along z (the depth axis).
/// </summary>
public sealed record Volume(string Id, int Depth, int Height, int Width, float[] Voxels, byte[]? Labels = null)
{
    public int SliceSize => Height * Width;

    /// <summary>A NIfTI scan and its label map; NIfTI's x-fastest storage is already z-major.</summary>
    public static Volume From(SegmentedVolume scan, string id)
    {
        var (x, y, z) = scan.Image.Shape;
        return new Volume(id, z, y, x, scan.Image.Voxels, scan.Mask);
    }

    public ReadOnlySpan<float> Slice(int z) => Voxels.AsSpan(z * SliceSize, SliceSize);

    public ReadOnlySpan<byte> LabelSlice(int z) =>
        Labels is null ? throw new InvalidOperationException($"Volume '{Id}' has no label map.") : Labels.AsSpan(z * SliceSize, SliceSize);

    public void Validate()
    {
        if (Depth <= 0 || Height <= 0 || Width <= 0) throw new ArgumentException($"Volume '{Id}': shape {Depth}×{Height}×{Width} must be positive.");
        var n = (long)Depth * Height * Width;
        if (Voxels.Length != n) throw new ArgumentException($"Volume '{Id}': {Depth}×{Height}×{Width} needs {n} voxels, found {Voxels.Length}.");
        if (Labels is not null && Labels.Length != n) throw new ArgumentException($"Volume '{Id}': label map has {Labels.Length} voxels, the image {n}.");
    }
}
