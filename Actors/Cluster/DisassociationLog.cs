using Akka.Event;

namespace FedActors.Actors.Cluster;

/// <summary>
/// Akka.Remote logs every association that ends with its peer's process as an ERROR (<c>endpointWriter] Disassociated</c>):
/// at every clean end of a run, when the other nodes leave the cluster and exit, and at every lost node. Neither is an
/// error here: leaving is the plan, and a lost node is the cluster's business (it logs the unreachable member as a
/// warning, and the run records <c>node-lost</c>). This filter turns that one line into an INFO line.
/// </summary>
public sealed class DisassociationLog : RemotingLogFilter
{
    /// <summary>Whether the event is Akka.Remote's report of an association its peer ended.</summary>
    /// <param name="error">An ERROR event.</param>
    public static bool IsDisassociation(Error error) =>
        error.LogSource.Contains("/endpointWriter", StringComparison.Ordinal) &&
        (error.Message?.ToString() == "Disassociated" || error.Cause?.GetType().Name == "EndpointDisassociatedException");

    /// <inheritdoc/>
    public override LogFilterDecision ShouldKeepMessage(LogEvent content, string? expandedMessage = null)
    {
        if (content is not Error error || !IsDisassociation(error)) return LogFilterDecision.NoDecision;
        Publish(new Info(error.LogSource, error.LogClass, "Association ended by its peer (Disassociated)"));
        return LogFilterDecision.Drop;
    }
}
