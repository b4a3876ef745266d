using System.Buffers.Binary;
using System.IO.Compression;
using System.Text;

namespace FedActors.Tests.Training.Data;

/// <summary>Hand-made .npy and .npz files for the format specs.</summary>
public static class NpyFiles
{
    /// <summary>A .npy file of the given header fields and raw data, padded as NumPy pads it.</summary>
    public static byte[] Npy(string descr, int[] shape, byte[] data, bool fortranOrder = false, byte major = 1)
    {
        var shapeText = shape.Length == 1 ? $"({shape[0]},)" : $"({string.Join(", ", shape)})";
        var dict = $"{{'descr': '{descr}', 'fortran_order': {(fortranOrder ? "True" : "False")}, 'shape': {shapeText}, }}";
        var lengthBytes = major == 1 ? 2 : 4;
        var pad = 64 - (8 + lengthBytes + dict.Length + 1) % 64;
        var header = Encoding.ASCII.GetBytes(dict + new string(' ', pad % 64) + "\n");
        var bytes = new List<byte> { 0x93, (byte)'N', (byte)'U', (byte)'M', (byte)'P', (byte)'Y', major, 0 };
        var length = new byte[lengthBytes];
        if (major == 1) BinaryPrimitives.WriteUInt16LittleEndian(length, (ushort)header.Length);
        else BinaryPrimitives.WriteUInt32LittleEndian(length, (uint)header.Length);
        return [.. bytes, .. length, .. header, .. data];
    }

    public static byte[] Int64s(params long[] values) => values.SelectMany(BitConverter.GetBytes).ToArray();

    public static byte[] Floats(params float[] values) => values.SelectMany(BitConverter.GetBytes).ToArray();

    /// <summary>Writes a zip of the named entries (e.g. "train_images.npy") to <paramref name="path"/>.</summary>
    public static string Npz(string path, params (string Name, byte[] Bytes)[] entries)
    {
        using var zip = new ZipArchive(File.Create(path), ZipArchiveMode.Create);
        foreach (var (name, bytes) in entries)
        {
            using var stream = zip.CreateEntry(name).Open();
            stream.Write(bytes);
        }
        return path;
    }
}
