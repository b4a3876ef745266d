namespace FedActors.Training.Data.Formats;

/// <summary>
/// One array read from a .npy file (or a .npz entry), its data always in C order (the
/// last axis varies fastest) whatever order the file stored it in. Conversions to the
/// compact forms the training code uses check every value and name the file and array
/// on failure.
/// </summary>
public sealed class NpyArray
{
    /// <summary>Creates an array from already-decoded parts; nothing is checked or copied.</summary>
    /// <param name="file">Path of the .npy or .npz file, used in error messages.</param>
    /// <param name="name">The array's name, e.g. the .npz entry "train_images.npy".</param>
    /// <param name="dtype">Element type and byte order of <paramref name="data"/>.</param>
    /// <param name="shape">Size of each axis.</param>
    /// <param name="data">Raw element bytes in C order.</param>
    public NpyArray(string file, string name, NpyDtype dtype, int[] shape, byte[] data)
    {
        File = file;
        Name = name;
        Dtype = dtype;
        Shape = shape;
        Data = data;
    }

    /// <summary>Path of the .npy or .npz file the array came from.</summary>
    public string File { get; }
    /// <summary>The array's name, e.g. the .npz entry "train_images.npy".</summary>
    public string Name { get; }
    /// <summary>Element type and byte order of <see cref="Data"/>, as in the file's header.</summary>
    public NpyDtype Dtype { get; }
    /// <summary>Size of each axis, outermost first; empty for a scalar.</summary>
    public int[] Shape { get; }
    /// <summary>Raw element bytes, C order, in the file's byte order (<see cref="NpyDtype.ReadAll"/> decodes them).</summary>
    public byte[] Data { get; }
    /// <summary>The shape written as NumPy prints it, e.g. "(100, 28, 28)", for messages.</summary>
    public string ShapeText => $"({string.Join(", ", Shape)})";

    /// <summary>
    /// The values as bytes. Integers must lie in [0, 255]; floats either all in [0, 1]
    /// (normalised images, scaled by 255) or all in [0, 255] (rounded).
    /// </summary>
    public byte[] ToBytes()
    {
        if (Dtype.Kind is 'u' or 'b' && Dtype.ItemSize == 1) return Data;
        var values = Dtype.ReadAll(Data);
        var (min, max) = (double.PositiveInfinity, double.NegativeInfinity);
        for (var i = 0; i < values.Length; i++)
        {
            if (double.IsNaN(values[i])) throw Error($"element {i} is NaN; expected pixel values in [0, 255]");
            (min, max) = (Math.Min(min, values[i]), Math.Max(max, values[i]));
        }
        if (min < 0 || max > 255)
            throw Error($"{Dtype} values span [{min}, {max}]; expected pixel values in [0, 255] (or [0, 1] for floats)");
        var scale = Dtype.Kind == 'f' && max <= 1 ? 255.0 : 1.0;
        var bytes = new byte[values.Length];
        for (var i = 0; i < bytes.Length; i++) bytes[i] = (byte)Math.Round(values[i] * scale);
        return bytes;
    }

    /// <summary>The values as integers (class labels); floats must hold whole numbers.</summary>
    public int[] ToInt32()
    {
        var values = Dtype.ReadAll(Data);
        var result = new int[values.Length];
        for (var i = 0; i < result.Length; i++)
        {
            var v = values[i];
            if (v != Math.Floor(v) || v < int.MinValue || v > int.MaxValue)
                throw Error($"element {i} is {v}; expected a whole number that fits in int32");
            result[i] = (int)v;
        }
        return result;
    }

    /// <summary>An exception (not thrown) naming this array's file and name with <paramref name="problem"/>; the caller throws it.</summary>
    /// <param name="problem">What was expected against what was found.</param>
    public DataFormatException Error(string problem) => new(File, Name, problem);
}
