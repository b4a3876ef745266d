namespace FedActors.Training.Data;

/// <summary>
/// An image volume with its label map of the same shape and spacing; the mask uses the
/// image's layout (<see cref="NiftiVolume.IndexOf"/>) and holds one class index per voxel.
/// </summary>
public sealed class SegmentedVolume
{
    /// <summary>Creates a segmented volume from an image and its label map.</summary>
    /// <param name="image">The image volume.</param>
    /// <param name="maskFile">Path of the mask's NIfTI file, used in messages.</param>
    /// <param name="mask">One class index per voxel, in the image's layout; kept without copying.</param>
    /// <exception cref="ArgumentException"><paramref name="mask"/> and the image have different voxel counts.</exception>
    public SegmentedVolume(NiftiVolume image, string maskFile, byte[] mask)
    {
        if (mask.Length != image.Voxels.Length)
            throw new ArgumentException($"{maskFile}: mask has {mask.Length} voxels, image {image.File} has {image.Voxels.Length}.");
        Image = image;
        MaskFile = maskFile;
        Mask = mask;
    }

    /// <summary>The image volume.</summary>
    public NiftiVolume Image { get; }
    /// <summary>Path of the NIfTI file the mask was read from.</summary>
    public string MaskFile { get; }
    /// <summary>Class index per voxel, index = x + X·(y + Y·z); shared, not copied.</summary>
    public byte[] Mask { get; }

    /// <summary>The class index of voxel (<paramref name="x"/>, <paramref name="y"/>, <paramref name="z"/>).</summary>
    /// <param name="x">Column, 0 ≤ x &lt; X.</param>
    /// <param name="y">Row, 0 ≤ y &lt; Y.</param>
    /// <param name="z">Slice, 0 ≤ z &lt; Z.</param>
    public byte MaskAt(int x, int y, int z) => Mask[Image.IndexOf(x, y, z)];
}
