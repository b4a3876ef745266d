using Akka.Actor;
using FedActors.Actors.Protocol;

namespace FedActors.Tests.Actors;

/// <summary>
/// Stands between the coordinator and one hospital: forwards requests, passes replies
/// on, and sends a copy of every upload (and, if asked, every request) to <c>observer</c>,
/// so a spec can recompute each aggregate from exactly what was uploaded.
/// </summary>
public sealed class UploadTap : ReceiveActor
{
    public UploadTap(IActorRef hospital, IActorRef observer, bool requestsToo)
    {
        IActorRef? coordinator = null;
        Receive<TrainRound>(r =>
        {
            coordinator = Sender;
            if (requestsToo) observer.Tell(r);
            hospital.Tell(r, Self);
        });
        Receive<LocalUpdate>(u =>
        {
            observer.Tell(u);
            coordinator?.Tell(u, Self);
        });
    }

    public static Props Props(IActorRef hospital, IActorRef observer, bool requestsToo = false) =>
        Akka.Actor.Props.Create(() => new UploadTap(hospital, observer, requestsToo));
}
