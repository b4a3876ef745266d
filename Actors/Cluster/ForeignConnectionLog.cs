using Akka.Event;

namespace FedActors.Actors.Cluster;

/// <summary>
/// Turns remoting's report of a connection that does not speak the cluster's protocol (random bytes, an HTTP request, a
/// port scan, a TLS handshake refused or garbled) from an ERROR with a DotNetty stack trace into one WARNING line naming
/// the channel and the reason. Such connections are closed either way; on a shared network they are expected, not a
/// fault of the node, and hundreds of traces would bury the errors that are.
/// </summary>
public sealed class ForeignConnectionLog : RemotingLogFilter
{
    /// <summary>Whether <paramref name="cause"/> is what a connection that is not the cluster's remoting raises in remoting's channel handlers.</summary>
    /// <param name="source">The log event's source (remoting's TCP handlers are <c>TcpServerHandler</c>, <c>TcpClientHandler</c>).</param>
    /// <param name="message">The event's message.</param>
    /// <param name="cause">The event's exception.</param>
    public static bool IsForeign(string source, object? message, Exception? cause) =>
        cause is not null && (source.StartsWith("TcpServerHandler", StringComparison.Ordinal) || source.StartsWith("TcpClientHandler", StringComparison.Ordinal)) &&
        (cause.GetType().Namespace == "DotNetty.Codecs" || IsTls(message, cause));

    // A refused or garbled TLS handshake: Akka.Remote itself already logs one warning line naming the peer ("Rejected incoming connection").
    private static bool IsTls(object? message, Exception cause) =>
        cause.GetType().Namespace == "DotNetty.Handlers.Tls" || cause is System.Security.Authentication.AuthenticationException ||
        cause.InnerException is System.Security.Authentication.AuthenticationException ||
        (message?.ToString() ?? "").StartsWith("TLS handshake failed", StringComparison.Ordinal);

    /// <inheritdoc/>
    public override LogFilterDecision ShouldKeepMessage(LogEvent content, string? expandedMessage = null)
    {
        if (content is not Error error || !IsForeign(error.LogSource, error.Message, error.Cause)) return LogFilterDecision.NoDecision;
        if (!IsTls(error.Message, error.Cause!))
            Publish(new Warning(error.LogSource, error.LogClass,
                $"Closed a connection that is not this cluster's remoting ({FirstLine(error.Message)}): {error.Cause!.GetType().Name}: {FirstLine(error.Cause.Message)}"));
        return LogFilterDecision.Drop;
    }

    private static string FirstLine(object? text) => (text?.ToString() ?? "").Split('\n')[0].Trim();
}
