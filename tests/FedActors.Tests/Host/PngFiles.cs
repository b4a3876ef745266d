using System.Buffers.Binary;

namespace FedActors.Tests.Host;

public static class PngFiles
{
    private static readonly byte[] Signature = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A];

    /// <summary>Asserts <paramref name="file"/> is a PNG (signature, IHDR first) of the given size in pixels and more than a few KB of drawing.</summary>
    public static void AssertValid(string file, int width, int height)
    {
        var bytes = File.ReadAllBytes(file);
        Assert.True(bytes.Length > 5_000, $"{file}: only {bytes.Length} bytes");
        Assert.Equal(Signature, bytes[..8]);
        Assert.Equal("IHDR"u8.ToArray(), bytes[12..16]);
        Assert.Equal(width, BinaryPrimitives.ReadInt32BigEndian(bytes.AsSpan(16)));
        Assert.Equal(height, BinaryPrimitives.ReadInt32BigEndian(bytes.AsSpan(20)));
    }
}
