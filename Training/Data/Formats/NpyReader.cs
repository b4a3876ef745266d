using System.Buffers.Binary;
using System.Text;
using System.Text.RegularExpressions;

namespace FedActors.Training.Data.Formats;

/// <summary>
/// Reads the NumPy .npy format (versions 1.0, 2.0 and 3.0): the magic "\x93NUMPY", a
/// version, a little-endian header length and a Python-literal header dict with descr,
/// fortran_order and shape, then the raw data. Fortran-ordered data is transposed to C
/// order on load.
/// </summary>
public static partial class NpyReader
{
    private static readonly byte[] Magic = [0x93, (byte)'N', (byte)'U', (byte)'M', (byte)'P', (byte)'Y'];

    /// <summary>Parses the bytes of a whole .npy file; <paramref name="file"/> and <paramref name="name"/> label errors.</summary>
    public static NpyArray Parse(byte[] bytes, string file, string name)
    {
        DataFormatException Error(string field, string problem) => new(file, $"{name} {field}", problem);

        if (bytes.Length < 8 || !bytes.AsSpan(0, 6).SequenceEqual(Magic))
            throw Error("magic", $"expected \\x93NUMPY, found {Printable(bytes.AsSpan(0, Math.Min(6, bytes.Length)))}");
        var major = bytes[6];
        var lengthBytes = major switch
        {
            1 => 2,
            2 or 3 => 4,
            _ => throw Error("version", $"expected 1.0, 2.0 or 3.0, found {major}.{bytes[7]}"),
        };
        if (bytes.Length < 8 + lengthBytes)
            throw Error("header", $"truncated: the header length needs {lengthBytes} bytes after the version, file has {bytes.Length - 8}");
        long headerLength = lengthBytes == 2
            ? BinaryPrimitives.ReadUInt16LittleEndian(bytes.AsSpan(8))
            : BinaryPrimitives.ReadUInt32LittleEndian(bytes.AsSpan(8));
        var dataStart = 8 + lengthBytes + headerLength;
        if (dataStart > bytes.Length)
            throw Error("header", $"truncated: header needs {headerLength} bytes, file has {bytes.Length - 8 - lengthBytes}");
        // Version 3.0 allows UTF-8 in the header; 1.0 and 2.0 are Latin-1, which matters only for names we ignore.
        var header = Encoding.UTF8.GetString(bytes, 8 + lengthBytes, (int)headerLength);

        var descr = DescrPattern().Match(header);
        if (!descr.Success) throw Error("header 'descr'", $"expected a simple dtype string such as '|u1' or '<f4', found header {header.Trim()}");
        var dtype = NpyDtype.TryParse(descr.Groups[1].Value)
            ?? throw Error("header 'descr'", $"unsupported dtype '{descr.Groups[1].Value}'; expected one of bool, (u)int8/16/32/64, float32/64");
        var fortran = FortranPattern().Match(header);
        if (!fortran.Success) throw Error("header 'fortran_order'", $"expected True or False, found header {header.Trim()}");
        var shapeMatch = ShapePattern().Match(header);
        if (!shapeMatch.Success) throw Error("header 'shape'", $"expected a tuple of integers, found header {header.Trim()}");
        var shape = ParseShape(shapeMatch.Groups[1].Value) ?? throw Error("header 'shape'", $"expected a tuple of non-negative integers, found ({shapeMatch.Groups[1].Value})");

        var count = shape.Aggregate(1L, (a, d) => a * d);
        var expected = count * dtype.ItemSize;
        var found = bytes.Length - dataStart;
        if (found != expected)
            throw Error("data", $"header shape ({string.Join(", ", shape)}) of {dtype} needs {expected} bytes, found {found}{(found < expected ? " (truncated)" : "")}");
        var data = bytes.AsSpan((int)dataStart).ToArray();
        if (fortran.Groups[1].Value == "True" && shape.Length > 1) data = FortranToC(data, shape, dtype.ItemSize);
        return new NpyArray(file, name, dtype, shape, data);
    }

    private static int[]? ParseShape(string text)
    {
        var parts = text.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
        var shape = new int[parts.Length];
        for (var i = 0; i < parts.Length; i++)
            if (!int.TryParse(parts[i].TrimEnd('L'), out shape[i]) || shape[i] < 0) return null;
        return shape;
    }

    /// <summary>Reorders column-major data (first axis fastest) into row-major.</summary>
    private static byte[] FortranToC(byte[] data, int[] shape, int itemSize)
    {
        var result = new byte[data.Length];
        var index = new int[shape.Length];
        // Fortran strides: axis k advances by the product of the sizes before it.
        var strides = new long[shape.Length];
        strides[0] = 1;
        for (var k = 1; k < shape.Length; k++) strides[k] = strides[k - 1] * shape[k - 1];
        var count = data.Length / itemSize;
        for (var c = 0; c < count; c++)
        {
            long f = 0;
            for (var k = 0; k < shape.Length; k++) f += index[k] * strides[k];
            Buffer.BlockCopy(data, (int)f * itemSize, result, c * itemSize, itemSize);
            // Advance the C-order multi-index: the last axis fastest.
            for (var k = shape.Length - 1; k >= 0 && ++index[k] == shape[k]; k--) index[k] = 0;
        }
        return result;
    }

    private static string Printable(ReadOnlySpan<byte> bytes) =>
        string.Concat(bytes.ToArray().Select(b => b is >= 32 and < 127 ? ((char)b).ToString() : $"\\x{b:x2}"));

    [GeneratedRegex(@"'descr'\s*:\s*'([^']*)'")]
    private static partial Regex DescrPattern();

    [GeneratedRegex(@"'fortran_order'\s*:\s*(True|False)")]
    private static partial Regex FortranPattern();

    [GeneratedRegex(@"'shape'\s*:\s*\(([^)]*)\)")]
    private static partial Regex ShapePattern();
}
