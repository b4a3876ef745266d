using System.Buffers.Binary;

namespace FedActors.Training.Data.Formats;

/// <summary>
/// A NumPy scalar dtype from an array-protocol string such as '|u1', '&lt;i8' or '&gt;f4':
/// byte order, kind (b, i, u, f) and item size. Structured and complex dtypes are not
/// supported.
/// </summary>
public sealed record NpyDtype(char Kind, int ItemSize, bool BigEndian)
{
    private static readonly HashSet<string> Supported = ["b1", "u1", "i1", "u2", "i2", "u4", "i4", "u8", "i8", "f4", "f8"];

    /// <summary>The dtype for <paramref name="descr"/>, or null if it is not a supported one.</summary>
    public static NpyDtype? TryParse(string descr)
    {
        if (descr.Length != 3 || !"<>|=".Contains(descr[0]) || !Supported.Contains(descr[1..])) return null;
        // '=' is native order; .npy files are written little-endian in practice.
        return new NpyDtype(descr[1], descr[2] - '0', descr[0] == '>');
    }

    public override string ToString() => $"{(ItemSize == 1 ? '|' : BigEndian ? '>' : '<')}{Kind}{ItemSize}";

    /// <summary>Element <paramref name="index"/> of <paramref name="data"/> as a double (exact for all but 64-bit integers beyond 2^53).</summary>
    public double Read(ReadOnlySpan<byte> data, int index)
    {
        var s = data.Slice(index * ItemSize, ItemSize);
        return (Kind, ItemSize) switch
        {
            ('b', 1) or ('u', 1) => s[0],
            ('i', 1) => (sbyte)s[0],
            ('u', 2) => BigEndian ? BinaryPrimitives.ReadUInt16BigEndian(s) : BinaryPrimitives.ReadUInt16LittleEndian(s),
            ('i', 2) => BigEndian ? BinaryPrimitives.ReadInt16BigEndian(s) : BinaryPrimitives.ReadInt16LittleEndian(s),
            ('u', 4) => BigEndian ? BinaryPrimitives.ReadUInt32BigEndian(s) : BinaryPrimitives.ReadUInt32LittleEndian(s),
            ('i', 4) => BigEndian ? BinaryPrimitives.ReadInt32BigEndian(s) : BinaryPrimitives.ReadInt32LittleEndian(s),
            ('u', 8) => BigEndian ? BinaryPrimitives.ReadUInt64BigEndian(s) : BinaryPrimitives.ReadUInt64LittleEndian(s),
            ('i', 8) => BigEndian ? BinaryPrimitives.ReadInt64BigEndian(s) : BinaryPrimitives.ReadInt64LittleEndian(s),
            ('f', 4) => BigEndian ? BinaryPrimitives.ReadSingleBigEndian(s) : BinaryPrimitives.ReadSingleLittleEndian(s),
            ('f', 8) => BigEndian ? BinaryPrimitives.ReadDoubleBigEndian(s) : BinaryPrimitives.ReadDoubleLittleEndian(s),
            _ => throw new InvalidOperationException($"dtype {this} has no reader."),
        };
    }
}
