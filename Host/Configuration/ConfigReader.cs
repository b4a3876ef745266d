using Akka.Configuration;

namespace FedActors.Host.Configuration;

/// <summary>Typed, range-checked reads from a layered config; errors name the key and its source.</summary>
internal sealed class ConfigReader(Config config, IReadOnlyDictionary<string, string> sources)
{
    public ConfigError Error(string key, string problem) =>
        new($"{(sources.TryGetValue(key, out var s) ? s : "embedded default")}: '{key}' {problem}.");

    public int Int(string key, int min, int max) => (int)Long(key, min, max);

    public long Long(string key, long min, long max)
    {
        var raw = Raw(key);
        if (!long.TryParse(raw, System.Globalization.NumberStyles.Integer, System.Globalization.CultureInfo.InvariantCulture, out var v))
            throw Error(key, $"must be an integer, found '{raw}'");
        if (v < min || v > max) throw Error(key, $"must be between {min} and {max}, found {v}");
        return v;
    }

    public double Double(string key, double min, double max)
    {
        var raw = Raw(key);
        if (!double.TryParse(raw, System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out var v))
            throw Error(key, $"must be a number, found '{raw}'");
        if (!(v >= min && v <= max)) throw Error(key, $"must be between {min} and {max}, found {v}");
        return v;
    }

    public string String(string key)
    {
        var raw = Raw(key);
        if (string.IsNullOrWhiteSpace(raw)) throw Error(key, "must not be empty");
        return raw;
    }

    public string OneOf(string key, params string[] allowed)
    {
        var value = String(key);
        if (!allowed.Contains(value)) throw Error(key, $"must be one of {string.Join(", ", allowed)}, found '{value}'");
        return value;
    }

    public TimeSpan Duration(string key)
    {
        TimeSpan value;
        try { value = config.GetTimeSpan(key); }
        catch (Exception) { throw Error(key, $"must be a duration such as 30s or 10m, found '{Raw(key)}'"); }
        if (value <= TimeSpan.Zero) throw Error(key, $"must be positive, found {value}");
        return value;
    }

    public IReadOnlyList<int> IntList(string key)
    {
        try { return config.GetIntList(key).ToList(); }
        catch (Exception) { throw Error(key, "must be a list of integers such as [32, 64, 128, 128]"); }
    }

    /// <summary>A list of strings; a single value counts as a one-element list (<c>auto</c> or <c>[auto]</c>).</summary>
    public IReadOnlyList<string> StringList(string key)
    {
        var value = config.GetValue(key);
        if (value is null || value.IsEmpty) throw Error(key, "is missing");
        if (!value.IsArray()) return [String(key)];
        try { return config.GetStringList(key).ToList(); }
        catch (Exception) { throw Error(key, "must be a list of strings such as [cpu] or [\"cuda:0\", \"cuda:1\"]"); }
    }

    private string Raw(string key)
    {
        var value = config.GetValue(key);
        if (value is null || value.IsEmpty) throw Error(key, "is missing");
        if (value.IsObject() || value.IsArray()) throw Error(key, "must be a single value, not an object or list");
        return value.GetString();
    }
}
