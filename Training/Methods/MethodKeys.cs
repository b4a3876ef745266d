using System.Globalization;

namespace FedActors.Training.Methods;

/// <summary>
/// Reads and checks one method key's value wherever the experiment's configuration lives. The host implements it, so
/// that an error names the key and the file and line (or <c>--set</c>) that gave the bad value.
/// </summary>
public interface IMethodKeyReader
{
    /// <summary>A number in [<paramref name="min"/>, <paramref name="max"/>].</summary>
    double Number(string key, double min, double max);

    /// <summary>An integer in [<paramref name="min"/>, <paramref name="max"/>].</summary>
    int Integer(string key, int min, int max);

    /// <summary>A switch: on/off, true/false, yes/no.</summary>
    bool Switch(string key);

    /// <summary>One of <paramref name="choices"/>.</summary>
    string OneOf(string key, IReadOnlyList<string> choices);

    /// <summary>A non-empty word or text.</summary>
    string Text(string key);

    /// <summary>A file path, made full from the directory of the file that set it (the working directory for <c>--set</c>).</summary>
    string Path(string key);
}

/// <summary>
/// A configuration key a method reads (<c>fedprox.mu</c>, relative to the config's <c>fedactors</c> root): its type,
/// default, allowed values and what it does. Methods declare theirs in their <see cref="MethodRegistration"/>; the
/// host checks every registered key of every method, whichever method runs. Two methods share a key by naming the same
/// object.
/// </summary>
public abstract class MethodKey(string name, string description)
{
    /// <summary>The key under the config's <c>fedactors</c> root, e.g. <c>fedprox.mu</c>.</summary>
    public string Name { get; } = name;

    /// <summary>What the key does, one line.</summary>
    public string Description { get; } = description;

    /// <summary>The kind of value, as <c>fedactors methods</c> lists it (number, integer, switch, choice, ...).</summary>
    public abstract string Type { get; }

    /// <summary>The default as HOCON text, e.g. <c>0.01</c> or <c>on</c>.</summary>
    public abstract string DefaultText { get; }

    /// <summary>The values allowed, e.g. <c>0 to 1000000</c> or <c>similar | dissimilar</c>.</summary>
    public abstract string Range { get; }

    /// <summary>Reads and checks the key's value; <paramref name="reader"/> throws, naming the key, on a bad one.</summary>
    public abstract object? Read(IMethodKeyReader reader);

    /// <summary>The value a method gets when nothing sets the key.</summary>
    public abstract object? DefaultValue { get; }

    /// <summary>A number as HOCON and listings write it (invariant culture, round-trip).</summary>
    protected static string Text(double value) => value.ToString("R", CultureInfo.InvariantCulture);
}

/// <summary>A method key whose value is a <typeparamref name="T"/>; <see cref="MethodSettings.Get{T}"/> reads it back typed.</summary>
public abstract class MethodKey<T>(string name, T defaultValue, string description) : MethodKey(name, description)
{
    /// <summary>The value a method gets when nothing sets the key.</summary>
    public T Default { get; } = defaultValue;

    /// <inheritdoc />
    public override object? DefaultValue => Default;
}

/// <summary>A number in [<paramref name="min"/>, <paramref name="max"/>].</summary>
public sealed class NumberKey(string name, double defaultValue, double min, double max, string description)
    : MethodKey<double>(name, defaultValue, description)
{
    /// <inheritdoc />
    public override string Type => "number";
    /// <inheritdoc />
    public override string DefaultText => Text(Default);
    /// <inheritdoc />
    public override string Range => $"{Text(min)} to {Text(max)}";
    /// <inheritdoc />
    public override object? Read(IMethodKeyReader reader) => reader.Number(Name, min, max);
}

/// <summary>An integer in [<paramref name="min"/>, <paramref name="max"/>].</summary>
public sealed class IntegerKey(string name, int defaultValue, int min, int max, string description)
    : MethodKey<int>(name, defaultValue, description)
{
    /// <inheritdoc />
    public override string Type => "integer";
    /// <inheritdoc />
    public override string DefaultText => Default.ToString(CultureInfo.InvariantCulture);
    /// <inheritdoc />
    public override string Range => FormattableString.Invariant($"{min} to {max}");
    /// <inheritdoc />
    public override object? Read(IMethodKeyReader reader) => reader.Integer(Name, min, max);
}

/// <summary>A switch (on/off, true/false, yes/no).</summary>
public sealed class SwitchKey(string name, bool defaultValue, string description) : MethodKey<bool>(name, defaultValue, description)
{
    /// <inheritdoc />
    public override string Type => "switch";
    /// <inheritdoc />
    public override string DefaultText => Default ? "on" : "off";
    /// <inheritdoc />
    public override string Range => "on | off";
    /// <inheritdoc />
    public override object? Read(IMethodKeyReader reader) => reader.Switch(Name);
}

/// <summary>One word of <paramref name="choices"/> (an enumeration, spelt as the config spells it).</summary>
public sealed class ChoiceKey(string name, string defaultValue, IReadOnlyList<string> choices, string description)
    : MethodKey<string>(name, defaultValue, description)
{
    /// <summary>The words allowed.</summary>
    public IReadOnlyList<string> Choices { get; } = choices.Contains(defaultValue)
        ? choices
        : throw new ArgumentException($"{name}: the default '{defaultValue}' is not one of its choices.", nameof(defaultValue));

    /// <inheritdoc />
    public override string Type => "choice";
    /// <inheritdoc />
    public override string DefaultText => Default;
    /// <inheritdoc />
    public override string Range => string.Join(" | ", Choices);
    /// <inheritdoc />
    public override object? Read(IMethodKeyReader reader) => reader.OneOf(Name, Choices);
}

/// <summary>A number in [<paramref name="min"/>, <paramref name="max"/>], or <paramref name="word"/> (the default), read as null.</summary>
public sealed class NumberOrWordKey(string name, string word, double min, double max, string description)
    : MethodKey<double?>(name, null, description)
{
    /// <inheritdoc />
    public override string Type => $"number or {word}";
    /// <inheritdoc />
    public override string DefaultText => word;
    /// <inheritdoc />
    public override string Range => $"{word}, or {Text(min)} to {Text(max)}";
    /// <inheritdoc />
    public override object? Read(IMethodKeyReader reader) => reader.Text(Name) == word ? null : reader.Number(Name, min, max);
}

/// <summary>A word or text; a method's check says what more it must be.</summary>
public sealed class TextKey(string name, string defaultValue, string description) : MethodKey<string>(name, defaultValue, description)
{
    /// <inheritdoc />
    public override string Type => "text";
    /// <inheritdoc />
    public override string DefaultText => Default;
    /// <inheritdoc />
    public override string Range => "any";
    /// <inheritdoc />
    public override object? Read(IMethodKeyReader reader) => reader.Text(Name);
}

/// <summary>
/// A file's path, relative to the file that sets it, read as a full path; or <see cref="None"/> (the default). The
/// host writes the full path into the run's resolved configuration, so the run directory runs again anywhere.
/// </summary>
public sealed class PathKey(string name, string description) : MethodKey<string>(name, None, description)
{
    /// <summary>The word for no file.</summary>
    public const string None = "none";

    /// <inheritdoc />
    public override string Type => "path";
    /// <inheritdoc />
    public override string DefaultText => None;
    /// <inheritdoc />
    public override string Range => $"a file, or {None}";
    /// <inheritdoc />
    public override object? Read(IMethodKeyReader reader) => reader.Text(Name) == None ? None : reader.Path(Name);
}

/// <summary>A method's chosen settings failed its <see cref="MethodRegistration.Check"/>: <see cref="Key"/> names the key to fix.</summary>
public sealed class MethodSettingsException(MethodKey key, string problem) : Exception($"'{key.Name}' {problem}.")
{
    /// <summary>The key whose value is the problem.</summary>
    public MethodKey Key { get; } = key;

    /// <summary>What is wrong with it, to follow the key's name (e.g. <c>is on, but ...</c>).</summary>
    public string Problem { get; } = problem;
}

/// <summary>The values of the method keys as the experiment sets them; a key nobody read or set gives its default.</summary>
public sealed class MethodSettings
{
    private readonly IReadOnlyDictionary<string, object?> _values;

    /// <param name="values">Each key's value by its <see cref="MethodKey.Name"/>, as <see cref="MethodKey.Read"/> gave it.</param>
    public MethodSettings(IReadOnlyDictionary<string, object?> values) => _values = values;

    /// <summary>Every key at its default.</summary>
    public static MethodSettings Defaults { get; } = new(new Dictionary<string, object?>());

    /// <summary>The value of <paramref name="key"/>.</summary>
    public T Get<T>(MethodKey<T> key) => _values.TryGetValue(key.Name, out var value) ? (T)value! : key.Default;

    /// <summary>The value of <paramref name="key"/>, untyped (for listings and checks over every key).</summary>
    public object? ValueOf(MethodKey key) => _values.TryGetValue(key.Name, out var value) ? value : key.DefaultValue;

    /// <summary>These settings with <paramref name="key"/> set to <paramref name="value"/>.</summary>
    public MethodSettings With<T>(MethodKey<T> key, T value) => new(new Dictionary<string, object?>(_values) { [key.Name] = value });
}
