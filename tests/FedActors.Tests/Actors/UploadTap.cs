using Akka.Actor;
using FedActors.Actors.Coordination;
using FedActors.Actors.Protocol;
using FedActors.Actors.Transfer;
using FedActors.Training.Methods;
using FedActors.Training.Weights;

namespace FedActors.Tests.Actors;

/// <summary>A round's request as a <see cref="UploadTap"/> saw it, its global fetched.</summary>
public sealed record TappedRequest(int Round, ModelWeights Global, MethodPayloads? Broadcast) : INoSerializationVerificationNeeded;

/// <summary>
/// Stands between the coordinator and one hospital: forwards requests, passes replies
/// on, and sends a copy of every upload (and, if asked, every request) to <c>observer</c>,
/// with its weights fetched from the run's <c>transfer</c> (a resolved <see cref="LocalUpdate"/>, a
/// <see cref="TappedRequest"/>), so a spec can recompute each aggregate from exactly what was uploaded.
/// A message is passed on only once its copy is with the observer, so the coordinator cannot release the weights first.
/// </summary>
public sealed class UploadTap : ReceiveActor
{
    private static readonly TimeSpan FetchTimeout = TimeSpan.FromMinutes(1);

    public UploadTap(IActorRef hospital, IActorRef transfer, IActorRef observer, bool requestsToo)
    {
        IActorRef? coordinator = null;
        ReceiveAsync<TrainRoundByRef>(async r =>
        {
            coordinator = Sender;
            if (requestsToo) observer.Tell(new TappedRequest(r.Round, await transfer.FetchAsync(r.Global, FetchTimeout), r.Broadcast));
            hospital.Tell(r, Self);
        });
        ReceiveAsync<LocalUpdateByRef>(async u =>
        {
            var weights = await transfer.FetchAsync(u.Weights, FetchTimeout);
            observer.Tell(new LocalUpdate(u.Round, u.HospitalId, weights, u.Samples, u.MeanLoss, u.Steps, u.ComputeSeconds, u.Extras));
            coordinator?.Tell(u, Self);
        });
    }

    public static Props Props(IActorRef hospital, IActorRef transfer, IActorRef observer, bool requestsToo = false) =>
        Akka.Actor.Props.Create(() => new UploadTap(hospital, transfer, observer, requestsToo));
}
