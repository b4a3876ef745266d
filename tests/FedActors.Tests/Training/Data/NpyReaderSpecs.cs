using System.Buffers.Binary;
using FedActors.Training.Data;
using FedActors.Training.Data.Formats;
using static FedActors.Tests.Training.Data.NpyFiles;

namespace FedActors.Tests.Training.Data;

public class NpyReaderSpecs
{
    private static NpyArray Parse(byte[] bytes) => NpyReader.Parse(bytes, "x.npz", "a.npy");

    private static byte[] Int32s(params int[] values) => values.SelectMany(BitConverter.GetBytes).ToArray();

    [Fact]
    public void Should_transpose_fortran_ordered_data_to_c_order()
    {
        // The 2×3 matrix [[1, 2, 3], [4, 5, 6]] stored column by column.
        var array = Parse(Npy("<i4", [2, 3], Int32s(1, 4, 2, 5, 3, 6), fortranOrder: true));

        Assert.Equal([1, 2, 3, 4, 5, 6], array.ToInt32());
    }

    [Fact]
    public void Should_transpose_fortran_ordered_3d_data_to_c_order()
    {
        // Element [i, j, k] = 100i + 10j + k; Fortran order puts i fastest.
        var shape = new[] { 2, 3, 4 };
        var fortran = from k in Enumerable.Range(0, 4) from j in Enumerable.Range(0, 3) from i in Enumerable.Range(0, 2) select 100 * i + 10 * j + k;
        var c = from i in Enumerable.Range(0, 2) from j in Enumerable.Range(0, 3) from k in Enumerable.Range(0, 4) select 100 * i + 10 * j + k;

        Assert.Equal(c, Parse(Npy("<i4", shape, Int32s(fortran.ToArray()), fortranOrder: true)).ToInt32());
    }

    [Theory]
    [InlineData(2)]
    [InlineData(3)]
    public void Should_read_format_versions_with_a_four_byte_header_length(byte major) =>
        Assert.Equal([5, 6], Parse(Npy("<i8", [2], Int64s(5, 6), major: major)).ToInt32());

    [Fact]
    public void Should_read_big_endian_data()
    {
        var data = new byte[4];
        BinaryPrimitives.WriteInt32BigEndian(data, 70000);
        Assert.Equal([70000], Parse(Npy(">i4", [1], data)).ToInt32());
    }

    [Fact]
    public void Should_reject_a_bad_magic()
    {
        var bytes = Npy("|u1", [1], [0]);
        bytes[1] = (byte)'X';

        var e = Assert.Throws<DataFormatException>(() => Parse(bytes));

        Assert.Equal("x.npz", e.File);
        Assert.Equal("a.npy magic", e.Field);
        Assert.Contains(@"expected \x93NUMPY, found \x93XUMPY", e.Message);
    }

    [Fact]
    public void Should_reject_an_unknown_version()
    {
        var e = Assert.Throws<DataFormatException>(() => Parse(Npy("|u1", [1], [0], major: 4)));
        Assert.Equal("a.npy version", e.Field);
    }

    [Fact]
    public void Should_reject_a_header_shape_that_does_not_match_the_data_length()
    {
        var e = Assert.Throws<DataFormatException>(() => Parse(Npy("<i8", [3], Int64s(1, 2, 3, 4))));

        Assert.Equal("a.npy data", e.Field);
        Assert.Contains("header shape (3) of <i8 needs 24 bytes, found 32", e.Message);
    }

    [Theory]
    [InlineData("<c8")]
    [InlineData("<U4")]
    [InlineData("<f2")]
    public void Should_reject_an_unsupported_dtype(string descr)
    {
        var e = Assert.Throws<DataFormatException>(() => Parse(Npy(descr, [1], new byte[8])));

        Assert.Equal("a.npy header 'descr'", e.Field);
        Assert.Contains($"unsupported dtype '{descr}'", e.Message);
    }

    [Theory]
    [InlineData(1, 9)]
    [InlineData(2, 11)]
    [InlineData(1, 20)]
    [InlineData(3, 20)]
    public void Should_reject_a_truncated_header(byte major, int length)
    {
        var e = Assert.Throws<DataFormatException>(() => Parse(Npy("|u1", [1], [0], major: major)[..length]));

        Assert.Equal("a.npy header", e.Field);
        Assert.Contains("truncated", e.Message);
    }

    [Fact]
    public void Should_reject_pixel_values_outside_the_byte_range()
    {
        var e = Assert.Throws<DataFormatException>(() => Parse(Npy("<f4", [2], Floats(0f, 300f))).ToBytes());
        Assert.Contains("values span [0, 300]", e.Message);
    }

    [Fact]
    public void Should_reject_fractional_labels()
    {
        var e = Assert.Throws<DataFormatException>(() => Parse(Npy("<f4", [2], Floats(1f, 0.5f))).ToInt32());
        Assert.Contains("element 1 is 0.5", e.Message);
    }
}
