using System.Text;

namespace FedActors.Host.Configuration;

/// <summary>
/// Checks a HOCON text's shape before the parser sees it, which the parser does not do well: braces and brackets that
/// are never closed or close nothing (the parser reports some of them valid), nesting deeper than
/// <see cref="MaxDepth"/> (a deep enough file exhausts the parser's stack or memory), quoted strings left open, and
/// <c>include</c>s, which must name a file in the config's own folder. Errors name the source and line, and quote at
/// most a <see cref="Snippet"/> of the text.
/// </summary>
internal static class HoconShape
{
    /// <summary>The deepest nesting of objects and lists a config may have.</summary>
    public const int MaxDepth = 64;

    /// <summary>The most characters of a config's text an error quotes.</summary>
    public const int SnippetLength = 80;

    /// <summary>
    /// <paramref name="text"/> as an error may quote it: printable characters only (others shown as '?'), at most
    /// <see cref="SnippetLength"/> of them ('…' marks a cut).
    /// </summary>
    public static string Snippet(string? text)
    {
        if (string.IsNullOrEmpty(text)) return "";
        var printable = new StringBuilder(Math.Min(text.Length, SnippetLength + 1));
        foreach (var c in text)
        {
            if (printable.Length == SnippetLength) return printable.Append('…').ToString();
            printable.Append(char.IsControl(c) || char.IsSurrogate(c) || c == '\uFFFD' ? '?' : c);
        }
        return printable.ToString();
    }

    /// <summary>An <c>include "name"</c> found in a text: the name as written and its line.</summary>
    public readonly record struct Include(string Name, int Line);

    /// <summary>Fails with a <see cref="ConfigError"/> naming <paramref name="source"/> and the line for the first problem of shape; returns the includes.</summary>
    /// <param name="text">The HOCON text.</param>
    /// <param name="source">The file (or <c>--set ...</c>) it came from, named in errors.</param>
    public static IReadOnlyList<Include> Check(string text, string source)
    {
        var open = new Stack<(char Bracket, int Line)>();
        var includes = new List<Include>();
        var line = 1;
        var atKey = true; // at the start of a statement: where a key (or include) may stand
        for (var i = 0; i < text.Length; i++)
        {
            var c = text[i];
            switch (c)
            {
                case '\n':
                    line++;
                    atKey = true;
                    continue;
                case '#':
                case '/' when i + 1 < text.Length && text[i + 1] == '/':
                    while (i + 1 < text.Length && text[i + 1] != '\n') i++;
                    continue;
                case '"':
                    if (string.CompareOrdinal(text, i, "\"\"\"", 0, 3) == 0)
                    {
                        var end = text.IndexOf("\"\"\"", i + 3, StringComparison.Ordinal);
                        if (end < 0) throw new ConfigError($"{source}:{line}: a \"\"\" string opened here is never closed.");
                        line += text.AsSpan(i, end - i).Count('\n');
                        i = end + 2;
                    }
                    else
                    {
                        var start = line;
                        for (i++; i < text.Length && text[i] != '"'; i++)
                        {
                            if (text[i] == '\n') throw new ConfigError($"{source}:{start}: a quoted string is not closed on its line.");
                            if (text[i] == '\\') i++;
                        }
                        if (i >= text.Length) throw new ConfigError($"{source}:{start}: a quoted string is not closed on its line.");
                    }
                    atKey = false;
                    continue;
                case '{' or '[':
                    open.Push((c, line));
                    if (open.Count > MaxDepth)
                        throw new ConfigError($"{source}:{line}: objects and lists are nested more than {MaxDepth} levels deep.");
                    atKey = c == '{';
                    continue;
                case '}' or ']':
                    if (open.Count == 0) throw new ConfigError($"{source}:{line}: '{c}' closes nothing (no '{(c == '}' ? '{' : '[')}' is open).");
                    var (bracket, opened) = open.Pop();
                    if ((bracket == '{') != (c == '}'))
                        throw new ConfigError($"{source}:{line}: '{c}' closes the '{bracket}' opened at line {opened}.");
                    atKey = false;
                    continue;
                case ',':
                    atKey = open.Count == 0 || open.Peek().Bracket == '{';
                    continue;
            }
            if (char.IsWhiteSpace(c)) continue;
            if (atKey && string.CompareOrdinal(text, i, "include", 0, 7) == 0 && (i + 7 == text.Length || char.IsWhiteSpace(text[i + 7])))
            {
                var j = i + 7;
                while (j < text.Length && text[j] is ' ' or '\t') j++;
                var close = j < text.Length && text[j] == '"' ? text.IndexOfAny(['"', '\n'], j + 1) : -1;
                if (close < 0 || text[close] != '"')
                    throw new ConfigError($"{source}:{line}: only include \"FILE\" is supported, FILE a file in the config's own folder; found " +
                                          $"'{Snippet(text[i..Math.Min(text.Length, text.IndexOf('\n', i) is var n && n >= 0 ? n : text.Length)])}'.");
                includes.Add(new Include(text[(j + 1)..close], line));
                i = close;
                atKey = false;
                continue;
            }
            atKey = false;
        }
        if (open.Count > 0)
        {
            var (bracket, opened) = open.Peek();
            throw new ConfigError($"{source}:{opened}: '{bracket}' opened here is never closed.");
        }
        return includes;
    }

    /// <summary>
    /// The full path of <paramref name="include"/>, which must be a file in <paramref name="folder"/> or below it.
    /// </summary>
    /// <exception cref="ConfigError">It is outside the folder, or no such file.</exception>
    public static string Resolve(Include include, string folder, string source)
    {
        var root = Path.GetFullPath(folder);
        var full = Path.GetFullPath(include.Name, root);
        var relative = Path.GetRelativePath(root, full);
        if (Path.IsPathRooted(relative) || relative == ".." || relative.StartsWith(".." + Path.DirectorySeparatorChar, StringComparison.Ordinal))
            throw new ConfigError($"{source}:{include.Line}: include \"{Snippet(include.Name)}\" is outside the config's folder {root}; " +
                                  "only files in that folder (or below it) may be included.");
        if (!File.Exists(full))
            throw new ConfigError($"{source}:{include.Line}: include \"{Snippet(include.Name)}\": no such file in {root}.");
        // A link inside the folder to a file outside it is outside.
        if (new FileInfo(full).ResolveLinkTarget(returnFinalTarget: true) is { } target &&
            Path.GetRelativePath(root, target.FullName) is var linked && (Path.IsPathRooted(linked) || linked.StartsWith("..", StringComparison.Ordinal)))
            throw new ConfigError($"{source}:{include.Line}: include \"{Snippet(include.Name)}\" links to a file outside the config's folder {root}; " +
                                  "only files in that folder (or below it) may be included.");
        return full;
    }
}
