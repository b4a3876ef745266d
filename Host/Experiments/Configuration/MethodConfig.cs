using FedActors.Training.Methods;

namespace FedActors.Host.Configuration;

/// <summary>
/// Reads <c>fedactors.method</c> and every key the registered methods declare (each checked against its declared
/// type and range, whichever method runs), then the chosen method's own check. Errors name the key and where it was set.
/// </summary>
internal static class MethodConfig
{
    public const string MethodKey = "fedactors.method";
    private const string Root = "fedactors.";

    /// <summary>The full config key of a method key.</summary>
    public static string FullKey(MethodKey key) => Root + key.Name;

    /// <summary>Reads the chosen method and its settings, checking every declared key and then the method's own check.</summary>
    /// <param name="r">The config being read; its errors name the key and where it was set.</param>
    /// <param name="methods">The methods <c>fedactors.method</c> may name and whose keys are read.</param>
    /// <param name="baseOf">Where a relative path set for a key starts: the directory of the file that set it, else the working directory.</param>
    public static ConfiguredMethod Read(ConfigReader r, MethodRegistry methods, Func<string, string> baseOf)
    {
        var name = r.OneOf(MethodKey, [.. methods.Names]);
        var keys = new KeyReader(r, baseOf);
        var settings = new MethodSettings(methods.Keys.ToDictionary(k => k.Name, k => k.Read(keys), StringComparer.Ordinal));
        var method = methods.Find(name)!;
        try { method.Check?.Invoke(settings); }
        catch (MethodSettingsException e) { throw r.Error(FullKey(e.Key), e.Problem); }
        return new ConfiguredMethod(method, settings);
    }

    /// <summary>The method keys' reads, through the config reader's checks and messages.</summary>
    private sealed class KeyReader(ConfigReader r, Func<string, string> baseOf) : IMethodKeyReader
    {
        public double Number(string key, double min, double max) => r.Double(Root + key, min, max);
        public int Integer(string key, int min, int max) => r.Int(Root + key, min, max);
        public bool Switch(string key) => r.Bool(Root + key);
        public string OneOf(string key, IReadOnlyList<string> choices) => r.OneOf(Root + key, [.. choices]);
        public string Text(string key) => r.String(Root + key);
        public string Path(string key) => System.IO.Path.GetFullPath(r.String(Root + key), baseOf(Root + key));
    }
}
