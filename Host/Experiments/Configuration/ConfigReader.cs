using Akka.Configuration;
using Akka.Configuration.Hocon;

namespace FedActors.Host.Configuration;

/// <summary>
/// Which layer set each leaf key: 0 the embedded default, then the file, then each <c>--set</c>
/// in order. A key inside a list (<c>events[2].round</c>) or an object nobody set leaf by leaf
/// takes the layer of the nearest enclosing key that was set.
/// </summary>
internal sealed class KeySources
{
    public const string EmbeddedDefault = "embedded default";
    private readonly Dictionary<string, (string Source, int Layer)> _keys = new();
    private readonly Dictionary<string, IReadOnlyDictionary<string, int>> _lines = new();

    public void Record(string key, string source, int layer) => _keys[key] = (source, layer);

    /// <summary>The lines where a file sets its keys (<see cref="KeyLines.Scan"/>), so its errors name the line.</summary>
    public void RecordLines(string source, IReadOnlyDictionary<string, int> lines) => _lines[source] = lines;

    /// <summary>Where <paramref name="key"/> was set: <c>file:line</c> when a file set it, else the source's name.</summary>
    public (string Source, int Layer) Of(string key)
    {
        for (var k = key; k.Length > 0; k = Parent(k))
            if (_keys.TryGetValue(k, out var s)) return (WithLine(s.Source, key), s.Layer);
        return (EmbeddedDefault, 0);
    }

    public string WithLine(string source, string key) =>
        _lines.TryGetValue(source, out var lines) && KeyLines.Of(lines, key) is { } line ? $"{source}:{line}" : source;

    private static string Parent(string key) => key[..Math.Max(0, Math.Max(key.LastIndexOf('.'), key.LastIndexOf('[')))];
}

/// <summary>
/// Typed, range-checked reads from a layered config; errors name the key and its source. A
/// reader for one object of a list (<see cref="Objects"/>) reads keys relative to that object
/// and names them in full (<c>fedactors.faults.events[2].round</c>).
/// </summary>
internal sealed class ConfigReader(Config config, KeySources sources, string prefix = "")
{
    public ConfigError Error(string key, string problem) => new($"{SourceOf(key).Source}: '{HoconShape.Snippet(prefix + key)}' {problem}.");

    public (string Source, int Layer) SourceOf(string key) => sources.Of(prefix + key);

    public bool Has(string key) => config.HasPath(key);

    public int Int(string key, int min, int max) => (int)Long(key, min, max);

    public long Long(string key, long min, long max)
    {
        var raw = Raw(key);
        if (!long.TryParse(raw, System.Globalization.NumberStyles.Integer, System.Globalization.CultureInfo.InvariantCulture, out var v))
            throw Error(key, $"must be an integer, found '{HoconShape.Snippet(raw)}'");
        if (v < min || v > max) throw Error(key, $"must be between {min} and {max}, found {v}");
        return v;
    }

    public double Double(string key, double min, double max)
    {
        var raw = Raw(key);
        if (!double.TryParse(raw, System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out var v))
            throw Error(key, $"must be a number, found '{HoconShape.Snippet(raw)}'");
        if (!(v >= min && v <= max)) throw Error(key, $"must be between {min} and {max}, found {v}");
        return v;
    }

    public string String(string key)
    {
        var raw = Raw(key);
        if (string.IsNullOrWhiteSpace(raw)) throw Error(key, "must not be empty");
        return raw;
    }

    /// <summary>The key's string value, or null where it is empty (an optional path, say).</summary>
    public string? OptionalString(string key) =>
        config.GetValue(key) is { IsEmpty: false } value && !value.IsObject() && !IsList(value) && value.GetString() is { } raw && !string.IsNullOrWhiteSpace(raw)
            ? raw
            : config.HasPath(key) && config.GetValue(key) is { IsEmpty: false } other && (other.IsObject() || IsList(other))
                ? throw Error(key, "must be a single value, not an object or list")
                : null;

    public string OneOf(string key, params string[] allowed)
    {
        var value = String(key);
        if (!allowed.Contains(value)) throw Error(key, $"must be one of {string.Join(", ", allowed)}, found '{HoconShape.Snippet(value)}'");
        return value;
    }

    /// <summary>HOCON's spellings of a switch: on/off, true/false, yes/no.</summary>
    public bool Bool(string key) => OneOf(key, "on", "off", "true", "false", "yes", "no") is "on" or "true" or "yes";

    public TimeSpan Duration(string key)
    {
        TimeSpan value;
        try { value = config.GetTimeSpan(key); }
        catch (Exception) { throw Error(key, $"must be a duration such as 30s or 10m, found '{HoconShape.Snippet(Raw(key))}'"); }
        if (value <= TimeSpan.Zero) throw Error(key, $"must be positive, found {value}");
        return value;
    }

    public IReadOnlyList<int> IntList(string key)
    {
        try { return config.GetIntList(key).ToList(); }
        catch (Exception) { throw Error(key, "must be a list of integers such as [32, 64, 128, 128]"); }
    }

    /// <summary>A list of numbers, each in [<paramref name="min"/>, <paramref name="max"/>].</summary>
    public IReadOnlyList<double> DoubleList(string key, double min, double max) =>
        StringList(key).Select((raw, i) =>
            double.TryParse(raw, System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out var v) && v >= min && v <= max
                ? v
                : throw Error(key, $"item {i} must be a number between {min} and {max}, found '{HoconShape.Snippet(raw)}'")).ToList();

    /// <summary>A list of strings; a single value counts as a one-element list (<c>auto</c> or <c>[auto]</c>).</summary>
    public IReadOnlyList<string> StringList(string key)
    {
        var value = config.GetValue(key);
        if (value is null || value.IsEmpty) throw Error(key, "is missing");
        if (!IsList(value)) return [String(key)];
        if (IsEmptyList(value)) return [];
        try { return config.GetStringList(key).ToList(); }
        catch (Exception) { throw Error(key, "must be a list of strings such as [cpu] or [\"cuda:0\", \"cuda:1\"]"); }
    }

    /// <summary>A reader for each object of the list at <paramref name="key"/> (<paramref name="example"/> shows one in errors).</summary>
    public IReadOnlyList<ConfigReader> Objects(string key, string example)
    {
        var value = config.GetValue(key);
        if (value is null || value.IsEmpty) return [];
        if (!IsList(value)) throw Error(key, $"must be a list of objects such as [{example}]");
        var items = value.GetArray();
        var readers = new List<ConfigReader>(items.Count);
        for (var i = 0; i < items.Count; i++)
        {
            if (!items[i].IsObject()) throw Error($"{key}[{i}]", $"must be an object such as {example}");
            readers.Add(new ConfigReader(new Config(new HoconRoot(items[i])), sources, $"{prefix}{key}[{i}]."));
        }
        return readers;
    }

    /// <summary>The keys directly under <paramref name="key"/> (this reader's own object when empty).</summary>
    public IReadOnlyList<string> Fields(string key = "")
    {
        var value = key.Length == 0 ? config.Root : config.GetValue(key);
        return value is not null && value.IsObject() ? value.GetObject().Items.Keys.ToList() : [];
    }

    /// <summary>Fails on the first field of this object that is not in <paramref name="allowed"/>; <paramref name="what"/> names the object.</summary>
    public void OnlyFields(string what, params string[] allowed)
    {
        var extra = Fields().FirstOrDefault(f => !allowed.Contains(f));
        if (extra is not null) throw Error(extra, $"is not a field of {what} (fields: {string.Join(", ", allowed)})");
    }

    // HoconValue.IsArray() is false for an empty list.
    // "[]  # comment" parses as the array plus a whitespace literal: still a list.
    private static bool IsList(HoconValue value) =>
        value.IsArray() || (value.Values.Any(v => v is HoconArray) && value.Values.All(v => v is HoconArray || (v is HoconLiteral l && string.IsNullOrWhiteSpace(l.Value))));

    private static bool IsEmptyList(HoconValue value) => IsList(value) && value.Values.OfType<HoconArray>().All(a => a.Count == 0);

    private string Raw(string key)
    {
        var value = config.GetValue(key);
        if (value is null || value.IsEmpty) throw Error(key, "is missing");
        if (value.IsObject() || IsList(value)) throw Error(key, "must be a single value, not an object or list");
        return value.GetString();
    }
}
