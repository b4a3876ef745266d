namespace FedActors.Host.Configuration;

/// <summary>A bad experiment configuration: the message names the key and where it came from.</summary>
/// <param name="message">The problem; for a key, it names the key and where it was set.</param>
public sealed class ConfigError(string message) : Exception(message);
