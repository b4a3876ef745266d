using System.Collections.Concurrent;
using Akka.Actor;
using FedActors.Actors.Protocol;

namespace FedActors.Tests.Actors;

/// <summary>A run listener that keeps every event and round summary, and passes <see cref="RunCompleted"/> on to <c>onCompleted</c>.</summary>
public sealed class RunLog : ReceiveActor
{
    public ConcurrentQueue<RunEvent> Events { get; } = new();
    public ConcurrentQueue<RoundSummary> Rounds { get; } = new();

    public RunLog(IActorRef onCompleted, RunLogHandle handle)
    {
        handle.Log = this;
        Receive<RunEvent>(Events.Enqueue);
        Receive<RoundClosed>(c => Rounds.Enqueue(c.Summary));
        Receive<RunCompleted>(c => onCompleted.Tell(c));
    }

    /// <summary>Starts a log; its contents are read through the returned handle.</summary>
    public static (IActorRef Ref, RunLogHandle Handle) Start(ActorSystem system, IActorRef onCompleted)
    {
        var handle = new RunLogHandle();
        var actor = system.ActorOf(Props.Create(() => new RunLog(onCompleted, handle)));
        return (actor, handle);
    }
}

public sealed class RunLogHandle
{
    internal RunLog? Log { get; set; }
    public IReadOnlyList<RunEvent> Events => Log!.Events.ToList();
    public IReadOnlyList<RoundSummary> Rounds => Log!.Rounds.ToList();
    public IEnumerable<RunEvent> Of(string kind, int? round = null) => Events.Where(e => e.Kind == kind && (round is null || e.Round == round));
}
