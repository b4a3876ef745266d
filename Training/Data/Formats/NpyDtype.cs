using System.Numerics;
using System.Runtime.InteropServices;

namespace FedActors.Training.Data.Formats;

/// <summary>
/// A NumPy scalar dtype from an array-protocol string such as '|u1', '&lt;i8' or '&gt;f4':
/// byte order, kind (b, i, u, f) and item size. Structured and complex dtypes are not
/// supported.
/// </summary>
/// <param name="Kind">'b' boolean, 'i' signed integer, 'u' unsigned integer or 'f' IEEE float.</param>
/// <param name="ItemSize">Bytes per element: 1, 2, 4 or 8.</param>
/// <param name="BigEndian">Whether elements are stored big-endian ('&gt;'); '&lt;', '|' and '=' read as little-endian.</param>
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

    /// <summary>The array-protocol string, e.g. "&lt;f4"; one-byte types use '|' as NumPy writes them.</summary>
    public override string ToString() => $"{(ItemSize == 1 ? '|' : BigEndian ? '>' : '<')}{Kind}{ItemSize}";

    /// <summary>All elements of <paramref name="data"/> as doubles (exact for all but 64-bit integers beyond 2^53).</summary>
    public double[] ReadAll(ReadOnlySpan<byte> data)
    {
        // Data in the machine's byte order is reinterpreted in place; the rest is swapped element by element.
        if (ItemSize > 1 && BigEndian == BitConverter.IsLittleEndian)
        {
            var swapped = new double[data.Length / ItemSize];
            for (var i = 0; i < swapped.Length; i++) swapped[i] = ReadSwapped(data.Slice(i * ItemSize, ItemSize));
            return swapped;
        }
        return (Kind, ItemSize) switch
        {
            ('b', 1) or ('u', 1) => Widen<byte>(data),
            ('i', 1) => Widen<sbyte>(data),
            ('u', 2) => Widen<ushort>(data),
            ('i', 2) => Widen<short>(data),
            ('u', 4) => Widen<uint>(data),
            ('i', 4) => Widen<int>(data),
            ('u', 8) => Widen<ulong>(data),
            ('i', 8) => Widen<long>(data),
            ('f', 4) => Widen<float>(data),
            ('f', 8) => Widen<double>(data),
            _ => throw new InvalidOperationException($"dtype {this} has no reader."),
        };
    }

    private static double[] Widen<T>(ReadOnlySpan<byte> data) where T : unmanaged, INumberBase<T>
    {
        var values = MemoryMarshal.Cast<byte, T>(data);
        var result = new double[values.Length];
        for (var i = 0; i < values.Length; i++) result[i] = double.CreateTruncating(values[i]);
        return result;
    }

    private double ReadSwapped(ReadOnlySpan<byte> s)
    {
        Span<byte> native = stackalloc byte[ItemSize];
        s.CopyTo(native);
        native.Reverse();
        return Kind switch
        {
            'u' => ItemSize switch { 2 => MemoryMarshal.Read<ushort>(native), 4 => MemoryMarshal.Read<uint>(native), _ => MemoryMarshal.Read<ulong>(native) },
            'i' => ItemSize switch { 2 => MemoryMarshal.Read<short>(native), 4 => MemoryMarshal.Read<int>(native), _ => MemoryMarshal.Read<long>(native) },
            _ => ItemSize == 4 ? MemoryMarshal.Read<float>(native) : MemoryMarshal.Read<double>(native),
        };
    }
}
