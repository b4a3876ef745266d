namespace FedActors.Training.Data;

/// <summary>
/// A 3D scan with an optional label map, z-major: voxel (z, y, x) is at
/// [(z·Height + y)·Width + x]. Slices are taken along z (the depth axis).
/// </summary>
/// <param name="Id">Name of the scan (a file or case id), used in messages.</param>
/// <param name="Depth">Number of slices along z.</param>
/// <param name="Height">Rows per slice.</param>
/// <param name="Width">Columns per slice.</param>
/// <param name="Voxels">Intensities in scanner units, z-major; Depth·Height·Width values, kept without copying.</param>
/// <param name="Labels">One class index per voxel in the same layout, or <see langword="null"/> for an unlabelled scan.</param>
public sealed record Volume(string Id, int Depth, int Height, int Width, float[] Voxels, byte[]? Labels = null)
{
    /// <summary>Voxels per z slice: <see cref="Height"/> × <see cref="Width"/>.</summary>
    public int SliceSize => Height * Width;

    /// <summary>A NIfTI scan and its label map; NIfTI's x-fastest storage is already z-major.</summary>
    public static Volume From(SegmentedVolume scan, string id)
    {
        var (x, y, z) = scan.Image.Shape;
        return new Volume(id, z, y, x, scan.Image.Voxels, scan.Mask);
    }

    /// <summary>The intensities of slice <paramref name="z"/>, row-major Height×Width, as a view into <see cref="Voxels"/>.</summary>
    /// <param name="z">Slice index, 0 ≤ z &lt; <see cref="Depth"/>.</param>
    public ReadOnlySpan<float> Slice(int z) => Voxels.AsSpan(z * SliceSize, SliceSize);

    /// <summary>The label map of slice <paramref name="z"/>, row-major Height×Width, as a view into <see cref="Labels"/>.</summary>
    /// <param name="z">Slice index, 0 ≤ z &lt; <see cref="Depth"/>.</param>
    /// <exception cref="InvalidOperationException">The volume has no label map.</exception>
    public ReadOnlySpan<byte> LabelSlice(int z) =>
        Labels is null ? throw new InvalidOperationException($"Volume '{Id}' has no label map.") : Labels.AsSpan(z * SliceSize, SliceSize);

    /// <summary>Checks that the shape is positive and that <see cref="Voxels"/> (and <see cref="Labels"/>, if any) hold exactly Depth·Height·Width values.</summary>
    /// <exception cref="ArgumentException">The shape or an array length is wrong; the message names the volume.</exception>
    public void Validate()
    {
        if (Depth <= 0 || Height <= 0 || Width <= 0) throw new ArgumentException($"Volume '{Id}': shape {Depth}×{Height}×{Width} must be positive.");
        var n = (long)Depth * Height * Width;
        if (Voxels.Length != n) throw new ArgumentException($"Volume '{Id}': {Depth}×{Height}×{Width} needs {n} voxels, found {Voxels.Length}.");
        if (Labels is not null && Labels.Length != n) throw new ArgumentException($"Volume '{Id}': label map has {Labels.Length} voxels, the image {n}.");
    }
}
