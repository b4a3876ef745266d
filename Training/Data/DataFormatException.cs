namespace FedActors.Training.Data;

/// <summary>
/// A data file that cannot be used as it is: missing, truncated, corrupt or not matching
/// its companion. The message always names the file and the field at fault, and what was
/// expected against what was found, so a bad input is fixed without a debugger.
/// </summary>
public sealed class DataFormatException : Exception
{
    public DataFormatException(string file, string field, string problem, Exception? inner = null)
        : base($"{file}: {field}: {problem}", inner)
    {
        File = file;
        Field = field;
    }

    public string File { get; }
    public string Field { get; }
}
