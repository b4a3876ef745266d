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
    public NiftiVolume(string file, NiftiHeader header, float[] voxels)
    {
        if (voxels.Length != header.VoxelCount)
            throw new ArgumentException($"{file}: shape {header.Shape} needs {header.VoxelCount} voxels, found {voxels.Length}.");
        File = file;
        Header = header;
        Voxels = voxels;
    }

    public string File { get; }
    public NiftiHeader Header { get; }
    public float[] Voxels { get; }
    public (int X, int Y, int Z) Shape => Header.Shape;
    public (float X, float Y, float Z) Spacing => Header.Spacing;

    public int IndexOf(int x, int y, int z) => x + Shape.X * (y + Shape.Y * z);

    public float this[int x, int y, int z] => Voxels[IndexOf(x, y, z)];
}
