using Akka.Actor;
using FedActors.Actors.Protocol;

namespace FedActors.Tests.Actors;

/// <summary>
/// Stands between the coordinator and one hospital: forwards requests, passes replies
/// on, and sends a copy of every upload to <c>observer</c>, so a spec can recompute
/// the aggregate from exactly what was uploaded.
/// </summary>
public sealed class UploadTap : ReceiveActor
{
    public UploadTap(IActorRef hospital, IActorRef observer)
    {
        IActorRef? coordinator = null;
        Receive<TrainRound>(r =>
        {
            coordinator = Sender;
            hospital.Tell(r, Self);
        });
        Receive<LocalUpdate>(u =>
        {
            observer.Tell(u);
            coordinator?.Tell(u, Self);
        });
    }

    public static Props Props(IActorRef hospital, IActorRef observer) =>
        Akka.Actor.Props.Create(() => new UploadTap(hospital, observer));
}
