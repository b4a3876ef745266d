using System.Buffers.Binary;
using System.Text;

namespace FedActors.Training.Data.Formats;

/// <summary>
/// The fields of a NIfTI-1 header (348 bytes) that locate and scale the voxel data.
/// Byte order is detected from sizeof_hdr, which must read 348.
/// </summary>
/// <param name="BigEndian">Whether the file is big-endian (header and voxel data alike).</param>
/// <param name="Dim">dim[0..7]: dim[0] is the number of dimensions, dim[1..] the size of each.</param>
/// <param name="Datatype">The NIfTI datatype code of a voxel (2 uint8, 4 int16, 16 float32, ...).</param>
/// <param name="Bitpix">Bits per voxel; must agree with <paramref name="Datatype"/>.</param>
/// <param name="Pixdim">pixdim[0..7]: pixdim[1..3] are the voxel sizes (pixdim[0] is qfac).</param>
/// <param name="VoxOffset">Byte offset of the voxel data in the file; at least 348.</param>
/// <param name="SclSlope">scl_slope: stored values are multiplied by it (unless it is 0 or not finite, see <see cref="IsScaled"/>).</param>
/// <param name="SclInter">scl_inter: added after the slope.</param>
/// <param name="Magic">"n+1" for single-file NIfTI-1, the only kind accepted.</param>
public sealed record NiftiHeader(
    bool BigEndian,
    short[] Dim,
    short Datatype,
    short Bitpix,
    float[] Pixdim,
    float VoxOffset,
    float SclSlope,
    float SclInter,
    string Magic)
{
    /// <summary>Length of a NIfTI-1 header in bytes, and the value its sizeof_hdr field must hold.</summary>
    public const int Size = 348;

    /// <summary>NIfTI datatype codes this reader decodes, as the NumPy dtype of one voxel.</summary>
    private static readonly Dictionary<short, (char Kind, int Bytes, string Name)> Datatypes = new()
    {
        [2] = ('u', 1, "uint8"), [4] = ('i', 2, "int16"), [8] = ('i', 4, "int32"), [16] = ('f', 4, "float32"),
        [64] = ('f', 8, "float64"), [256] = ('i', 1, "int8"), [512] = ('u', 2, "uint16"), [768] = ('u', 4, "uint32"),
    };

    /// <summary>Voxels along x, y and z from dim[1..3]; an axis beyond dim[0] counts as 1.</summary>
    public (int X, int Y, int Z) Shape => (Dim[1], Dim[0] >= 2 ? Dim[2] : 1, Dim[0] >= 3 ? Dim[3] : 1);

    /// <summary>Absolute voxel size along x, y and z from pixdim[1..3] (mm, as stored); an axis beyond dim[0] counts as 1.</summary>
    public (float X, float Y, float Z) Spacing =>
        (Math.Abs(Pixdim[1]), Dim[0] >= 2 ? Math.Abs(Pixdim[2]) : 1f, Dim[0] >= 3 ? Math.Abs(Pixdim[3]) : 1f);

    /// <summary>Number of voxels: X·Y·Z of <see cref="Shape"/>.</summary>
    public long VoxelCount => (long)Shape.X * Shape.Y * Shape.Z;

    /// <summary>The NIfTI rule: a zero (or non-finite) scl_slope means the stored values are used as they are.</summary>
    public bool IsScaled => SclSlope != 0 && float.IsFinite(SclSlope);

    /// <summary>How one stored voxel is decoded (<see cref="Parse"/> admits only supported datatypes).</summary>
    public NpyDtype VoxelType => new(Datatypes[Datatype].Kind, Datatypes[Datatype].Bytes, BigEndian);

    /// <summary>Parses and validates <paramref name="bytes"/> (the first 348 bytes of <paramref name="file"/>).</summary>
    public static NiftiHeader Parse(byte[] bytes, string file)
    {
        DataFormatException Error(string field, string problem) => new(file, field, problem);

        if (bytes.Length < Size) throw Error("header", $"truncated: expected {Size} bytes, found {bytes.Length}");
        var big = BinaryPrimitives.ReadInt32LittleEndian(bytes) switch
        {
            Size => false,
            _ when BinaryPrimitives.ReadInt32BigEndian(bytes) == Size => true,
            var other => throw Error("sizeof_hdr", $"expected {Size} (NIfTI-1), found {other}"),
        };
        short I16(int at) => big ? BinaryPrimitives.ReadInt16BigEndian(bytes.AsSpan(at)) : BinaryPrimitives.ReadInt16LittleEndian(bytes.AsSpan(at));
        float F32(int at) => big ? BinaryPrimitives.ReadSingleBigEndian(bytes.AsSpan(at)) : BinaryPrimitives.ReadSingleLittleEndian(bytes.AsSpan(at));

        var magic = Encoding.ASCII.GetString(bytes, 344, 4).TrimEnd('\0');
        if (magic == "ni1") throw Error("magic", "'ni1' is a two-file (.hdr/.img) NIfTI; only single-file 'n+1' (.nii, .nii.gz) is supported");
        if (magic != "n+1") throw Error("magic", $"expected 'n+1', found '{magic}'");

        var dim = Enumerable.Range(0, 8).Select(i => I16(40 + 2 * i)).ToArray();
        if (dim[0] is < 1 or > 7) throw Error("dim[0]", $"expected 1 to 7 dimensions, found {dim[0]}");
        for (var i = 1; i <= dim[0]; i++)
            if (dim[i] < 1) throw Error($"dim[{i}]", $"expected a positive size, found {dim[i]}");
        for (var i = 4; i <= dim[0]; i++)
            if (dim[i] != 1) throw Error($"dim[{i}]", $"only 3D volumes are supported; found dim = ({string.Join(", ", dim[1..(dim[0] + 1)])})");

        var datatype = I16(70);
        if (!Datatypes.TryGetValue(datatype, out var type))
            throw Error("datatype", $"unsupported code {datatype}; expected one of {string.Join(", ", Datatypes.Select(d => $"{d.Key} ({d.Value.Name})"))}");
        var bitpix = I16(72);
        if (bitpix != type.Bytes * 8) throw Error("bitpix", $"datatype {datatype} ({type.Name}) needs {type.Bytes * 8}, found {bitpix}");
        var voxOffset = F32(108);
        if (!(voxOffset >= Size) || voxOffset != Math.Floor(voxOffset))
            throw Error("vox_offset", $"expected a whole number of bytes >= {Size}, found {voxOffset}");

        return new NiftiHeader(big, dim, datatype, bitpix, Enumerable.Range(0, 8).Select(i => F32(76 + 4 * i)).ToArray(),
            voxOffset, F32(112), F32(116), magic);
    }
}
