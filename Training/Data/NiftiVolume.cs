using FedActors.Training.Data.Formats;

namespace FedActors.Training.Data;

/// <summary>
/// A 3D scalar volume read from NIfTI-1, with scl_slope/scl_inter already applied.
/// Layout: <see cref="Voxels"/> is C order over [z][y][x] (x varies fastest), which is
/// NIfTI's own storage order, so index = x + X·(y + Y·z). <see cref="Shape"/> is
/// (X, Y, Z) as in dim[1..3]; <see cref="Spacing"/> is pixdim[1..3] (mm, as stored).
/// </summary>
public sealed class NiftiVolume
{
    /// <summary>Creates a volume from a parsed header and its scaled voxel values.</summary>
    /// <param name="file">Path of the .nii/.nii.gz file, used in messages.</param>
    /// <param name="header">The file's header; its shape fixes the voxel count.</param>
    /// <param name="voxels">Voxel values after scl_slope/scl_inter, in NIfTI storage order (x fastest); kept without copying.</param>
    /// <exception cref="ArgumentException"><paramref name="voxels"/> does not match the header's voxel count.</exception>
    public NiftiVolume(string file, NiftiHeader header, float[] voxels)
    {
        if (voxels.Length != header.VoxelCount)
            throw new ArgumentException($"{file}: shape {header.Shape} needs {header.VoxelCount} voxels, found {voxels.Length}.");
        File = file;
        Header = header;
        Voxels = voxels;
    }

    /// <summary>Path of the NIfTI file the volume was read from.</summary>
    public string File { get; }
    /// <summary>The parsed NIfTI-1 header (shape, spacing, datatype, scaling).</summary>
    public NiftiHeader Header { get; }
    /// <summary>Voxel values with scaling applied, index = x + X·(y + Y·z); shared, not copied.</summary>
    public float[] Voxels { get; }
    /// <summary>Voxels along x, y and z (dim[1..3]).</summary>
    public (int X, int Y, int Z) Shape => Header.Shape;
    /// <summary>Voxel size along x, y and z (pixdim[1..3], in mm as stored).</summary>
    public (float X, float Y, float Z) Spacing => Header.Spacing;

    /// <summary>Position of voxel (<paramref name="x"/>, <paramref name="y"/>, <paramref name="z"/>) in <see cref="Voxels"/>; no bounds check.</summary>
    /// <param name="x">Column, 0 ≤ x &lt; X.</param>
    /// <param name="y">Row, 0 ≤ y &lt; Y.</param>
    /// <param name="z">Slice, 0 ≤ z &lt; Z.</param>
    public int IndexOf(int x, int y, int z) => x + Shape.X * (y + Shape.Y * z);

    /// <summary>The value of voxel (<paramref name="x"/>, <paramref name="y"/>, <paramref name="z"/>).</summary>
    /// <param name="x">Column, 0 ≤ x &lt; X.</param>
    /// <param name="y">Row, 0 ≤ y &lt; Y.</param>
    /// <param name="z">Slice, 0 ≤ z &lt; Z.</param>
    public float this[int x, int y, int z] => Voxels[IndexOf(x, y, z)];
}
