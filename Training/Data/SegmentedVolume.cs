namespace FedActors.Training.Data;

/// <summary>
/// An image volume with its label map of the same shape and spacing; the mask uses the
/// image's layout (<see cref="NiftiVolume.IndexOf"/>) and holds one class index per voxel.
/// </summary>
public sealed class SegmentedVolume
{
    public SegmentedVolume(NiftiVolume image, string maskFile, byte[] mask)
    {
        if (mask.Length != image.Voxels.Length)
            throw new ArgumentException($"{maskFile}: mask has {mask.Length} voxels, image {image.File} has {image.Voxels.Length}.");
        Image = image;
        MaskFile = maskFile;
        Mask = mask;
    }

    public NiftiVolume Image { get; }
    public string MaskFile { get; }
    public byte[] Mask { get; }

    public byte MaskAt(int x, int y, int z) => Mask[Image.IndexOf(x, y, z)];
}
