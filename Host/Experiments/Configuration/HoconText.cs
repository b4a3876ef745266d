namespace FedActors.Host.Configuration;

/// <summary>Values written into HOCON text.</summary>
internal static class HoconText
{
    /// <summary><paramref name="value"/> as a quoted HOCON string (backslashes and quotes escaped), safe for any path or id.</summary>
    public static string Quote(string value) =>
        "\"" + value.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("\"", "\\\"", StringComparison.Ordinal) + "\"";
}
