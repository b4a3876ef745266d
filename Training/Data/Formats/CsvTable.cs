using System.Text;

namespace FedActors.Training.Data.Formats;

/// <summary>
/// A small RFC 4180 CSV reader (comma separated, double-quoted fields may hold commas,
/// quotes as "" and line breaks) that remembers each row's line number for errors.
/// The first row is the header.
/// </summary>
public sealed class CsvTable
{
    private CsvTable(string file, string[] header, List<(int Line, string[] Fields)> rows) => (File, Header, Rows) = (file, header, rows);

    /// <summary>Path of the CSV file, used in error messages.</summary>
    public string File { get; }
    /// <summary>The header row's column names, trimmed of surrounding white space.</summary>
    public string[] Header { get; }
    /// <summary>Data rows with the 1-based line each starts on.</summary>
    public IReadOnlyList<(int Line, string[] Fields)> Rows { get; }

    /// <summary>Reads and parses the whole file; every data row must have as many fields as the header.</summary>
    /// <param name="path">Path of the CSV file (UTF-8).</param>
    /// <exception cref="DataFormatException">The file is missing or empty, a quote is unterminated, or a row has the wrong field count.</exception>
    public static CsvTable Read(string path)
    {
        if (!System.IO.File.Exists(path)) throw new DataFormatException(path, "file", "not found");
        var records = Parse(System.IO.File.ReadAllText(path), path);
        if (records.Count == 0) throw new DataFormatException(path, "header", "the file is empty; expected a header row");
        var header = records[0].Fields.Select(f => f.Trim()).ToArray();
        foreach (var (line, fields) in records.Skip(1))
            if (fields.Length != header.Length)
                throw new DataFormatException(path, $"line {line}", $"expected {header.Length} fields as in the header, found {fields.Length}");
        return new CsvTable(path, header, records.Skip(1).ToList());
    }

    /// <summary>The index of <paramref name="column"/> in the header.</summary>
    public int Column(string column)
    {
        var index = Array.IndexOf(Header, column);
        return index >= 0 ? index : throw new DataFormatException(File, $"column '{column}'", $"not in the header; found {string.Join(", ", Header)}");
    }

    private static List<(int Line, string[] Fields)> Parse(string text, string path)
    {
        var records = new List<(int, string[])>();
        var fields = new List<string>();
        var field = new StringBuilder();
        var (line, recordLine, quoted, fieldQuoted) = (1, 1, false, false);
        void EndField() { fields.Add(fieldQuoted ? field.ToString() : field.ToString().Trim()); field.Clear(); fieldQuoted = false; }
        void EndRecord()
        {
            EndField();
            // Blank lines (a lone empty field) are not records.
            if (fields.Count > 1 || fields[0].Length > 0) records.Add((recordLine, fields.ToArray()));
            fields.Clear();
        }
        for (var i = 0; i < text.Length; i++)
        {
            var c = text[i];
            if (c == '\n') line++;
            if (quoted)
            {
                if (c != '"') field.Append(c);
                else if (i + 1 < text.Length && text[i + 1] == '"') field.Append(text[++i]);
                else quoted = false;
            }
            else if (c == '"') (quoted, fieldQuoted) = (true, true);
            else if (c == ',') EndField();
            else if (c == '\n') { EndRecord(); recordLine = line; }
            else if (c != '\r') field.Append(c);
        }
        if (quoted) throw new DataFormatException(path, $"line {recordLine}", "a quoted field is not closed before the end of the file");
        if (field.Length > 0 || fields.Count > 0) EndRecord();
        return records;
    }
}
