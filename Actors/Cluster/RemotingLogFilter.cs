using Akka.Event;

namespace FedActors.Actors.Cluster;

/// <summary>
/// A log filter that replaces some of Akka.Remote's ERROR reports with a line of its own: filters run inside the
/// loggers and can only keep or drop, so the replacement is published on the node's event stream once attached.
/// </summary>
public abstract class RemotingLogFilter : LogFilterBase
{
    private EventStream? _events;

    /// <inheritdoc/>
    public override LogFilterType FilterType => LogFilterType.Content;

    /// <summary>Where the replacement lines go: the node's event stream, once its system is up.</summary>
    /// <param name="events">The node's event stream.</param>
    public void Attach(EventStream events) => _events = events;

    /// <summary>Publishes <paramref name="line"/> in place of a dropped event (nothing before <see cref="Attach"/>).</summary>
    /// <param name="line">The replacement log event.</param>
    protected void Publish(LogEvent line) => _events?.Publish(line);
}
