using System.Buffers.Binary;
using System.IO.Compression;

namespace FedActors.Tests.Training.Data;

/// <summary>Hand-made single-file NIfTI-1 volumes for the format specs.</summary>
public static class NiftiFiles
{
    /// <summary>A .nii file: a 348-byte header, 4 empty extension bytes (vox_offset 352) and the raw data.</summary>
    public static byte[] Nii(short datatype, short bitpix, (int X, int Y, int Z) shape, byte[] data,
        float spacing = 1f, float slope = 0f, float inter = 0f, bool bigEndian = false, string magic = "n+1")
    {
        var header = new byte[352];
        void I32(int at, int v) { if (bigEndian) BinaryPrimitives.WriteInt32BigEndian(header.AsSpan(at), v); else BinaryPrimitives.WriteInt32LittleEndian(header.AsSpan(at), v); }
        void I16(int at, int v) { if (bigEndian) BinaryPrimitives.WriteInt16BigEndian(header.AsSpan(at), (short)v); else BinaryPrimitives.WriteInt16LittleEndian(header.AsSpan(at), (short)v); }
        void F32(int at, float v) { if (bigEndian) BinaryPrimitives.WriteSingleBigEndian(header.AsSpan(at), v); else BinaryPrimitives.WriteSingleLittleEndian(header.AsSpan(at), v); }
        I32(0, 348);
        int[] dim = [3, shape.X, shape.Y, shape.Z, 1, 1, 1, 1];
        for (var i = 0; i < 8; i++) I16(40 + 2 * i, dim[i]);
        I16(70, datatype);
        I16(72, bitpix);
        float[] pixdim = [1, spacing, spacing, spacing, 1, 1, 1, 1];
        for (var i = 0; i < 8; i++) F32(76 + 4 * i, pixdim[i]);
        F32(108, 352);
        F32(112, slope);
        F32(116, inter);
        for (var i = 0; i < magic.Length; i++) header[344 + i] = (byte)magic[i];
        return [.. header, .. data];
    }

    public static byte[] Gzip(byte[] bytes)
    {
        var output = new MemoryStream();
        using (var gzip = new GZipStream(output, CompressionLevel.Fastest)) gzip.Write(bytes);
        return output.ToArray();
    }

    public static byte[] Gunzip(string path)
    {
        using var gzip = new GZipStream(File.OpenRead(path), CompressionMode.Decompress);
        var output = new MemoryStream();
        gzip.CopyTo(output);
        return output.ToArray();
    }
}
