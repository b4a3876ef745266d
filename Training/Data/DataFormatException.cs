namespace FedActors.Training.Data;

/// <summary>
/// A data file that cannot be used as it is: missing, truncated, corrupt or not matching
/// its companion. The message always names the file and the field at fault, and what was
/// expected against what was found, so a bad input is fixed without a debugger.
/// </summary>
public sealed class DataFormatException : Exception
{
    /// <summary>Creates an exception whose message reads "<c>file: field: problem</c>".</summary>
    /// <param name="file">Path of the data file at fault.</param>
    /// <param name="field">The header field, column, array or entry within the file that is wrong.</param>
    /// <param name="problem">What was expected against what was found.</param>
    /// <param name="inner">The underlying exception (I/O, parsing), or <see langword="null"/> if none.</param>
    public DataFormatException(string file, string field, string problem, Exception? inner = null)
        : base($"{file}: {field}: {problem}", inner)
    {
        File = file;
        Field = field;
        Problem = problem;
    }

    /// <summary>What was expected against what was found (the message's last part).</summary>
    public string Problem { get; }

    /// <summary>The hospital whose shard the file feeds, where one does (the message then begins "<c>hospital-03: </c>"); null otherwise.</summary>
    public string? Hospital { get; private init; }

    /// <summary>"<c>hospital: file: field: problem</c>" when <see cref="Hospital"/> is known, else "<c>file: field: problem</c>".</summary>
    public override string Message => Hospital is null ? base.Message : $"{Hospital}: {base.Message}";

    /// <summary>The same error, naming <paramref name="hospital"/> as the one whose shard the file feeds.</summary>
    /// <param name="hospital">The hospital id (<c>hospital-03</c>) or held-out set (<c>test volume 2</c>) the file was read for.</param>
    public DataFormatException For(string hospital) => new(File, Field, Problem, InnerException) { Hospital = hospital };

    /// <summary>Path of the data file at fault, as given to the reader.</summary>
    public string File { get; }
    /// <summary>The header field, column, array or entry within <see cref="File"/> that is wrong.</summary>
    public string Field { get; }
}
