using System.Collections.Concurrent;
using Akka.Actor;
using FedActors.Actors.Protocol;

namespace FedActors.Testing;

/// <summary>
/// A listener on a round coordinator (<see cref="SubscribeToRun"/>) that keeps every <see cref="RunEvent"/> and every
/// closed round's <see cref="RoundSummary"/> in the order they came, and passes <see cref="RunCompleted"/> on (to a
/// test's <c>TestActor</c>, say), so that by the time a test receives <see cref="RunCompleted"/> the log holds the whole run.
/// Safe to read from the test's thread while the run goes on.
/// </summary>
public sealed class RunLog
{
    private readonly ConcurrentQueue<RunEvent> _events = new();
    private readonly ConcurrentQueue<RoundSummary> _rounds = new();
    private volatile RoundProgress? _progress;

    private RunLog(IActorRefFactory system, IActorRef onCompleted) =>
        Ref = system.ActorOf(Props.Create(() => new Listener(this, onCompleted)));

    /// <summary>Starts a log in <paramref name="system"/> that passes <see cref="RunCompleted"/> on to <paramref name="onCompleted"/>; subscribe <see cref="Ref"/> to a coordinator.</summary>
    /// <param name="system">Where the log's actor lives (an actor system, or an actor's context).</param>
    /// <param name="onCompleted">Who is told when the run completes.</param>
    public static RunLog Start(IActorRefFactory system, IActorRef onCompleted)
    {
        ArgumentNullException.ThrowIfNull(system);
        ArgumentNullException.ThrowIfNull(onCompleted);
        return new RunLog(system, onCompleted);
    }

    /// <summary>The log's actor: what <see cref="SubscribeToRun"/> names.</summary>
    public IActorRef Ref { get; }

    /// <summary>Every event so far, in the order the coordinator published them.</summary>
    public IReadOnlyList<RunEvent> Events => _events.ToList();

    /// <summary>Every round closed so far, in order.</summary>
    public IReadOnlyList<RoundSummary> Rounds => _rounds.ToList();

    /// <summary>
    /// The coordinator's latest word on the open round (selected, training, accepted, dropped so far), or null before the
    /// first; events are published when a round closes, progress as each update is judged.
    /// </summary>
    public RoundProgress? Progress => _progress;

    /// <summary>The events of kind <paramref name="kind"/> (see <see cref="RunEventKinds"/>), of <paramref name="round"/> only when given.</summary>
    /// <param name="kind">The event kind, e.g. <see cref="RunEventKinds.Dropped"/>.</param>
    /// <param name="round">The round (from 1), or null for every round.</param>
    public IEnumerable<RunEvent> Of(string kind, int? round = null) =>
        Events.Where(e => e.Kind == kind && (round is null || e.Round == round));

    private sealed class Listener : ReceiveActor
    {
        public Listener(RunLog log, IActorRef onCompleted)
        {
            Receive<RunEvent>(log._events.Enqueue);
            Receive<RoundClosed>(c => log._rounds.Enqueue(c.Summary));
            Receive<RoundProgress>(p => log._progress = p);
            Receive<RunCompleted>(c => onCompleted.Tell(c));
        }
    }
}
