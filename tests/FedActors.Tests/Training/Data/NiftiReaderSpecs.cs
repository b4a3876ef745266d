using System.Buffers.Binary;
using FedActors.Training.Data;
using FedActors.Training.Data.Formats;
using static FedActors.Tests.Training.Data.NiftiFiles;

namespace FedActors.Tests.Training.Data;

public sealed class NiftiReaderSpecs : IDisposable
{
    private static readonly (int X, int Y, int Z) Tiny = (3, 2, 2);
    private static readonly double[] TinyValues = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 100];
    private readonly string _dir = Directory.CreateTempSubdirectory("fedactors-nifti-").FullName;

    private string Write(string name, byte[] bytes)
    {
        var path = Path.Combine(_dir, name);
        File.WriteAllBytes(path, bytes);
        return path;
    }

    private static IEnumerable<string> La2018Ids() =>
        Directory.GetFiles(SharedData.PathOf("la2018"), "*_gt.nii.gz").Select(f => Path.GetFileName(f)[..^"_gt.nii.gz".Length]).Order();

    /// <summary>The values encoded as <paramref name="datatype"/> in little-endian order.</summary>
    private static byte[] Encode(short datatype, double[] values) => values.SelectMany(v => datatype switch
    {
        2 => [(byte)v],
        256 => [(byte)(sbyte)v],
        4 => BitConverter.GetBytes((short)v),
        512 => BitConverter.GetBytes((ushort)v),
        8 => BitConverter.GetBytes((int)v),
        768 => BitConverter.GetBytes((uint)v),
        16 => BitConverter.GetBytes((float)v),
        64 => BitConverter.GetBytes(v),
        _ => throw new ArgumentOutOfRangeException(nameof(datatype)),
    }).ToArray();

    [SharedDataFact("la2018")]
    public void Should_load_every_la2018_pair_with_matching_grids_scaled_values_and_binary_masks()
    {
        var ids = La2018Ids().ToList();
        Assert.Equal(24, ids.Count); // the README's 24 volumes, each with its mask
        foreach (var id in ids)
        {
            var pair = NiftiReader.LoadWithMask(SharedData.PathOf($"la2018/{id}.nii.gz"), SharedData.PathOf($"la2018/{id}_gt.nii.gz"));
            var (x, y, z) = pair.Image.Shape;
            Assert.InRange(x * y * z, 1_000_000, 4_000_000);
            Assert.Equal(0.625f, pair.Image.Spacing.X, 1e-4f);
            Assert.Equal(0.625f, pair.Image.Spacing.Y, 1e-4f);
            Assert.Equal(0.625f, pair.Image.Spacing.Z, 1e-4f);
            Assert.Equal(new byte[] { 0, 1 }, pair.Mask.Distinct().Order());
        }
    }

    [SharedDataFact("la2018/06SR5RBREL16DQ6M8LWS.nii.gz")]
    public void Should_scale_stored_int16_by_the_slope_in_x_fastest_order()
    {
        var path = SharedData.PathOf("la2018/06SR5RBREL16DQ6M8LWS.nii.gz");
        var raw = Gunzip(path);
        var volume = NiftiReader.Load(path);

        Assert.Equal((183, 140, 88), volume.Shape);
        Assert.Equal(4, volume.Header.Datatype);
        Assert.Equal(0.01f, volume.Header.SclSlope);
        // Voxel (x, y, z) is stored at 352 + 2(x + X(y + Yz)).
        foreach (var (x, y, z) in new[] { (0, 0, 0), (1, 0, 0), (0, 1, 0), (5, 7, 3), (182, 139, 87) })
        {
            var stored = BinaryPrimitives.ReadInt16LittleEndian(raw.AsSpan(352 + 2 * (x + 183 * (y + 140 * z))));
            Assert.Equal(stored * 0.01f, volume[x, y, z], 1e-5f);
        }
    }

    [Theory]
    [InlineData(2, 8)]
    [InlineData(4, 16)]
    [InlineData(8, 32)]
    [InlineData(16, 32)]
    [InlineData(64, 64)]
    [InlineData(256, 8)]
    [InlineData(512, 16)]
    [InlineData(768, 32)]
    public void Should_decode_each_supported_datatype_plain_and_gzipped(short datatype, short bitpix)
    {
        var nii = Nii(datatype, bitpix, Tiny, Encode(datatype, TinyValues));
        var expected = TinyValues.Select(v => (float)v).ToArray();

        Assert.Equal(expected, NiftiReader.Load(Write("v.nii", nii)).Voxels);
        Assert.Equal(expected, NiftiReader.Load(Write("v.nii.gz", Gzip(nii))).Voxels);
    }

    [Fact]
    public void Should_apply_slope_and_intercept_only_when_the_slope_is_not_zero()
    {
        var data = Encode(4, [-2, 0, 10]);

        Assert.Equal([-4.5f, -0.5f, 19.5f], NiftiReader.Load(Write("s.nii", Nii(4, 16, (3, 1, 1), data, slope: 2f, inter: -0.5f))).Voxels);
        Assert.Equal([-2f, 0f, 10f], NiftiReader.Load(Write("u.nii", Nii(4, 16, (3, 1, 1), data, slope: 0f, inter: 7f))).Voxels);
    }

    [Fact]
    public void Should_read_a_big_endian_file()
    {
        var data = new byte[4];
        BinaryPrimitives.WriteInt16BigEndian(data, 1234);
        BinaryPrimitives.WriteInt16BigEndian(data.AsSpan(2), -5);

        var volume = NiftiReader.Load(Write("be.nii", Nii(4, 16, (2, 1, 1), data, spacing: 0.5f, bigEndian: true)));

        Assert.Equal([1234f, -5f], volume.Voxels);
        Assert.Equal((0.5f, 0.5f, 0.5f), volume.Spacing);
    }

    [Fact]
    public void Should_index_voxels_with_x_fastest()
    {
        var volume = NiftiReader.Load(Write("i.nii", Nii(2, 8, Tiny, Encode(2, TinyValues))));

        Assert.Equal(1f, volume[1, 0, 0]);
        Assert.Equal(3f, volume[0, 1, 0]);
        Assert.Equal(6f, volume[0, 0, 1]);
        Assert.Equal(100f, volume[2, 1, 1]);
    }

    [Fact]
    public void Should_reject_truncated_voxel_data_with_expected_and_found_lengths()
    {
        var path = Write("t.nii.gz", Gzip(Nii(4, 16, Tiny, Encode(4, TinyValues))[..^5]));

        var e = Assert.Throws<DataFormatException>(() => NiftiReader.Load(path));

        Assert.Equal(path, e.File);
        Assert.Equal("voxel data", e.Field);
        Assert.Contains("needs 24 bytes after vox_offset 352, found 19", e.Message);
    }

    [SharedDataFact("la2018/06SR5RBREL16DQ6M8LWS_gt.nii.gz")]
    public void Should_reject_a_truncated_gzip_file()
    {
        var bytes = File.ReadAllBytes(SharedData.PathOf("la2018/06SR5RBREL16DQ6M8LWS_gt.nii.gz"));
        var path = Write("cut.nii.gz", bytes[..(bytes.Length / 2)]);

        var e = Assert.Throws<DataFormatException>(() => NiftiReader.Load(path));

        Assert.Equal(path, e.File);
        Assert.Contains(e.Field, new[] { "voxel data", "gzip stream" });
    }

    [Fact]
    public void Should_reject_a_bad_sizeof_hdr()
    {
        var nii = Nii(2, 8, Tiny, new byte[12]);
        BinaryPrimitives.WriteInt32LittleEndian(nii, 540); // a NIfTI-2 header size

        var e = Assert.Throws<DataFormatException>(() => NiftiReader.Load(Write("h.nii", nii)));

        Assert.Equal("sizeof_hdr", e.Field);
        Assert.Contains("expected 348 (NIfTI-1), found 540", e.Message);
    }

    [Fact]
    public void Should_reject_an_unsupported_datatype()
    {
        var e = Assert.Throws<DataFormatException>(() => NiftiReader.Load(Write("c.nii", Nii(32, 64, Tiny, new byte[96]))));

        Assert.Equal("datatype", e.Field);
        Assert.Contains("unsupported code 32", e.Message);
    }

    [Fact]
    public void Should_reject_a_bitpix_that_contradicts_the_datatype()
    {
        var e = Assert.Throws<DataFormatException>(() => NiftiReader.Load(Write("b.nii", Nii(4, 8, Tiny, new byte[24]))));
        Assert.Equal("bitpix", e.Field);
    }

    [Fact]
    public void Should_reject_two_file_nifti()
    {
        var e = Assert.Throws<DataFormatException>(() => NiftiReader.Load(Write("p.nii", Nii(2, 8, Tiny, new byte[12], magic: "ni1"))));
        Assert.Equal("magic", e.Field);
    }

    [Fact]
    public void Should_name_both_files_when_image_and_mask_shapes_differ()
    {
        var image = Write("img.nii", Nii(4, 16, Tiny, new byte[24]));
        var mask = Write("img_gt.nii", Nii(2, 8, (3, 2, 1), new byte[6]));

        var e = Assert.Throws<DataFormatException>(() => NiftiReader.LoadWithMask(image, mask));

        Assert.Equal(mask, e.File);
        Assert.Equal("dim", e.Field);
        Assert.Contains(image, e.Message);
        Assert.Contains("(3, 2, 1)", e.Message);
    }

    [Fact]
    public void Should_name_both_files_when_image_and_mask_spacings_differ()
    {
        var image = Write("img.nii", Nii(4, 16, Tiny, new byte[24], spacing: 0.625f));
        var mask = Write("img_gt.nii", Nii(2, 8, Tiny, new byte[12], spacing: 1.25f));

        var e = Assert.Throws<DataFormatException>(() => NiftiReader.LoadWithMask(image, mask));

        Assert.Equal("pixdim", e.Field);
        Assert.Contains(image, e.Message);
    }

    [Fact]
    public void Should_reject_a_mask_with_fractional_labels()
    {
        var image = Write("img.nii", Nii(2, 8, (2, 1, 1), new byte[2]));
        var mask = Write("img_gt.nii", Nii(16, 32, (2, 1, 1), Encode(16, [1, 0.5])));

        var e = Assert.Throws<DataFormatException>(() => NiftiReader.LoadWithMask(image, mask));

        Assert.Equal(mask, e.File);
        Assert.Contains("voxel 1 is 0.5", e.Message);
    }

    public void Dispose() => Directory.Delete(_dir, recursive: true);
}
