namespace FedActors.Training.Data.Formats;

/// <summary>
/// One array read from a .npy file (or a .npz entry), its data always in C order (the
/// last axis varies fastest) whatever order the file stored it in. Conversions to the
/// compact forms the training code uses check every value and name the file and array
/// on failure.
/// </summary>
public sealed class NpyArray
{
    public NpyArray(string file, string name, NpyDtype dtype, int[] shape, byte[] data)
    {
        File = file;
        Name = name;
        Dtype = dtype;
        Shape = shape;
        Data = data;
    }

    public string File { get; }
    /// <summary>The array's name, e.g. the .npz entry "train_images.npy".</summary>
    public string Name { get; }
    public NpyDtype Dtype { get; }
    public int[] Shape { get; }
    public byte[] Data { get; }
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

    public DataFormatException Error(string problem) => new(File, Name, problem);
}
