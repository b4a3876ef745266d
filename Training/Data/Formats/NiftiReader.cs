using System.IO.Compression;

namespace FedActors.Training.Data.Formats;

/// <summary>
/// Reads single-file NIfTI-1 volumes, plain (.nii) or gzip-compressed (.nii.gz, detected
/// by its magic bytes), and image/label-map pairs that must agree in shape and spacing.
/// </summary>
public static class NiftiReader
{
    // Voxel sizes written by different tools differ in the last float digits.
    private const float SpacingTolerance = 1e-4f;

    /// <summary>Reads a 3D NIfTI-1 volume and applies its scl_slope/scl_inter; header extensions are skipped.</summary>
    /// <param name="path">Path of a .nii or .nii.gz file.</param>
    /// <exception cref="DataFormatException">The file is missing, truncated or corrupt, not single-file NIfTI-1, not 3D, or of an unsupported datatype.</exception>
    public static NiftiVolume Load(string path)
    {
        if (!File.Exists(path)) throw new DataFormatException(path, "file", "not found");
        try
        {
            using var stream = Open(path);
            var headerBytes = new byte[NiftiHeader.Size];
            var read = stream.ReadAtLeast(headerBytes, headerBytes.Length, throwOnEndOfStream: false);
            var header = NiftiHeader.Parse(headerBytes[..read], path);

            // Extensions between the header and vox_offset are skipped, not interpreted.
            var skip = (int)header.VoxOffset - NiftiHeader.Size;
            var skipped = stream.ReadAtLeast(new byte[skip], skip, throwOnEndOfStream: false);
            if (skipped < skip) throw new DataFormatException(path, "vox_offset", $"data starts at byte {header.VoxOffset}, file ends at byte {NiftiHeader.Size + skipped}");

            var type = header.VoxelType;
            var expected = header.VoxelCount * type.ItemSize;
            if (expected > Array.MaxLength) throw new DataFormatException(path, "dim", $"shape {header.Shape} is too large to load ({expected} bytes)");
            var data = new byte[expected];
            var found = stream.ReadAtLeast(data, data.Length, throwOnEndOfStream: false);
            if (found < expected)
                throw new DataFormatException(path, "voxel data",
                    $"truncated: shape {header.Shape} of datatype {header.Datatype} needs {expected} bytes after vox_offset {header.VoxOffset}, found {found}");
            return new NiftiVolume(path, header, Decode(data, header));
        }
        catch (InvalidDataException e)
        {
            throw new DataFormatException(path, "gzip stream", $"corrupt or truncated: {e.Message}", e);
        }
    }

    /// <summary>Loads an image and its label map, checking they describe the same grid.</summary>
    public static SegmentedVolume LoadWithMask(string imagePath, string maskPath)
    {
        var image = Load(imagePath);
        var mask = Load(maskPath);
        if (image.Shape != mask.Shape)
            throw new DataFormatException(maskPath, "dim", $"mask shape {mask.Shape} does not match image {imagePath} shape {image.Shape}");
        var (a, b) = (image.Spacing, mask.Spacing);
        if (Math.Abs(a.X - b.X) > SpacingTolerance || Math.Abs(a.Y - b.Y) > SpacingTolerance || Math.Abs(a.Z - b.Z) > SpacingTolerance)
            throw new DataFormatException(maskPath, "pixdim", $"mask spacing {b} does not match image {imagePath} spacing {a}");
        return new SegmentedVolume(image, maskPath, ToLabels(mask));
    }

    private static Stream Open(string path)
    {
        var file = File.OpenRead(path);
        var isGzip = file.ReadByte() == 0x1f & file.ReadByte() == 0x8b;
        file.Position = 0;
        return isGzip ? new GZipStream(file, CompressionMode.Decompress) : file;
    }

    private static float[] Decode(byte[] data, NiftiHeader header)
    {
        var stored = header.VoxelType.ReadAll(data);
        var (slope, inter) = header.IsScaled ? ((double)header.SclSlope, (double)header.SclInter) : (1.0, 0.0);
        var voxels = new float[stored.Length];
        for (var i = 0; i < voxels.Length; i++) voxels[i] = (float)(stored[i] * slope + inter);
        return voxels;
    }

    private static byte[] ToLabels(NiftiVolume mask)
    {
        var labels = new byte[mask.Voxels.Length];
        for (var i = 0; i < labels.Length; i++)
        {
            var v = mask.Voxels[i];
            if (v is < 0 or > 255 || v != MathF.Floor(v))
                throw new DataFormatException(mask.File, "voxel data", $"voxel {i} is {v}; a label map needs whole class indices in [0, 255]");
            labels[i] = (byte)v;
        }
        return labels;
    }
}
