namespace FedActors.Host.Configuration;

/// <summary>
/// Where in a HOCON file each key is set: the line of every key path (<c>a { b = 1 }</c>,
/// <c>a.b = 1</c>, and objects in lists as <c>a.events[2].round</c>), found by scanning the text,
/// since the parser keeps no positions. Good enough to point at a line; not a HOCON parser.
/// </summary>
internal static class KeyLines
{
    private sealed class Frame(string path, bool isList)
    {
        public string Path { get; } = path;
        public bool IsList { get; } = isList;
        public int Items { get; set; }
    }

    public static IReadOnlyDictionary<string, int> Scan(string text)
    {
        var lines = new Dictionary<string, int>(StringComparer.Ordinal);
        var stack = new Stack<Frame>();
        stack.Push(new Frame("", isList: false));
        string? pendingKey = null; // a key whose value (maybe an object or a list) is still to come
        var line = 1;
        for (var i = 0; i < text.Length; i++)
        {
            var c = text[i];
            if (c == '\n') { line++; continue; }
            if (char.IsWhiteSpace(c) || c == ',' || c == '=' || c == ':') continue;
            if (c == '#' || (c == '/' && i + 1 < text.Length && text[i + 1] == '/'))
            {
                while (i + 1 < text.Length && text[i + 1] != '\n') i++;
                continue;
            }
            var top = stack.Peek();
            switch (c)
            {
                case '{':
                    var objectPath = pendingKey ?? (top.IsList ? $"{top.Path}[{top.Items++}]" : top.Path);
                    stack.Push(new Frame(objectPath, isList: false));
                    pendingKey = null;
                    continue;
                case '[':
                    stack.Push(new Frame(pendingKey ?? top.Path, isList: true));
                    pendingKey = null;
                    continue;
                case '}' or ']':
                    if (stack.Count > 1) stack.Pop();
                    pendingKey = null;
                    continue;
            }
            var token = ReadToken(text, ref i);
            if (top.IsList || pendingKey is not null)
            {
                pendingKey = null; // a value, in a list or after its key
                continue;
            }
            // A key: what follows on the line says whether a value comes (= or :) or an object ({).
            var key = Join(top.Path, token.Trim('"'));
            lines.TryAdd(key, line);
            pendingKey = key;
        }
        return lines;
    }

    /// <summary>The line of <paramref name="key"/>, or of the nearest enclosing key that is in the file.</summary>
    public static int? Of(IReadOnlyDictionary<string, int> lines, string key)
    {
        for (var k = key; k.Length > 0; k = k[..Math.Max(0, Math.Max(k.LastIndexOf('.'), k.LastIndexOf('[')))])
            if (lines.TryGetValue(k, out var line)) return line;
        return null;
    }

    private static string Join(string parent, string key) => parent.Length == 0 ? key : $"{parent}.{key}";

    /// <summary>A quoted string, or everything up to whitespace or a separator.</summary>
    private static string ReadToken(string text, ref int i)
    {
        var start = i;
        if (text[i] == '"')
        {
            for (i++; i < text.Length && text[i] != '"' && text[i] != '\n'; i++)
                if (text[i] == '\\') i++;
            return text[start..Math.Min(i + 1, text.Length)];
        }
        while (i + 1 < text.Length && !char.IsWhiteSpace(text[i + 1]) && text[i + 1] is not ('=' or ':' or '{' or '}' or '[' or ']' or ',' or '#'))
            i++;
        return text[start..(i + 1)];
    }
}
