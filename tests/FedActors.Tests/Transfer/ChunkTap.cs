using Akka.Actor;
using FedActors.Actors.Protocol;

namespace FedActors.Tests.Transfer;

/// <summary>
/// Stands in for a weights owner: passes chunk requests on to the real one, reports each
/// request to <c>observer</c>, and flips one bit of the blob at <c>corruptAt</c> (if any)
/// on the way back, as a faulty link or node would.
/// </summary>
public sealed class ChunkTap : ReceiveActor
{
    public ChunkTap(IActorRef owner, IActorRef observer, long corruptAt)
    {
        var requesters = new Dictionary<long, IActorRef>();
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
            requesters[chunk.Offset].Tell(chunk with { Data = data }, Self);
        });
    }

    public static Props Props(IActorRef owner, IActorRef observer, long corruptAt = -1) =>
        Akka.Actor.Props.Create(() => new ChunkTap(owner, observer, corruptAt));
}
