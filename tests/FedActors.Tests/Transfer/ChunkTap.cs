using Akka.Actor;
using FedActors.Actors.Protocol;

namespace FedActors.Tests.Transfer;

/// <summary>
/// Stands in for a weights owner: passes chunk requests on to the real one, reports each
/// request to <c>observer</c>, and flips one bit of the blob at <c>corruptAt</c> (if any)
/// on the way back, as a faulty link or node would. Given <c>holdFrom</c>, it keeps back every
/// chunk from that offset on, tells <c>observer</c> <see cref="Holding"/> at the first, and lets
/// them go on <see cref="Release"/>: a spec so holds a transfer mid-way for as long as it needs.
/// </summary>
public sealed class ChunkTap : ReceiveActor
{
    /// <summary>Told to the observer when the first chunk at or past <c>holdFrom</c> is kept back.</summary>
    public sealed record Holding(long Offset, int ChunksPassed);

    /// <summary>Lets every kept-back chunk (and any later one) through.</summary>
    public sealed record Release
    {
        public static Release Instance { get; } = new();
    }

    public ChunkTap(IActorRef owner, IActorRef observer, long corruptAt, long holdFrom)
    {
        var requesters = new Dictionary<long, IActorRef>();
        var held = new List<WeightsChunk>();
        var passed = 0;
        var holding = holdFrom >= 0;
        void Pass(WeightsChunk chunk)
        {
            passed++;
            requesters[chunk.Offset].Tell(chunk, Self);
        }
        Receive<FetchChunk>(request =>
        {
            observer.Tell(request);
            requesters[request.Offset] = Sender;
            owner.Tell(request, Self);
        });
        Receive<WeightsChunk>(chunk =>
        {
            var data = chunk.Data;
            if (corruptAt >= chunk.Offset && corruptAt < chunk.Offset + data.Length)
            {
                data = data.ToArray();
                data[corruptAt - chunk.Offset] ^= 0x20;
            }
            if (holding && chunk.Offset >= holdFrom)
            {
                if (held.Count == 0) observer.Tell(new Holding(chunk.Offset, passed));
                held.Add(chunk with { Data = data });
                return;
            }
            Pass(chunk with { Data = data });
        });
        Receive<Release>(_ =>
        {
            holding = false;
            foreach (var chunk in held) Pass(chunk);
            held.Clear();
        });
    }

    public static Props Props(IActorRef owner, IActorRef observer, long corruptAt = -1, long holdFrom = -1) =>
        Akka.Actor.Props.Create(() => new ChunkTap(owner, observer, corruptAt, holdFrom));
}
