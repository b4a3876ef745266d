namespace FedActors.Host.Configuration;

/// <summary>A bad experiment configuration: the message names the key and where it came from.</summary>
public sealed class ConfigError(string message) : Exception(message);
