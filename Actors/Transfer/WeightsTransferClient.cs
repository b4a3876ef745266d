using Akka.Actor;
using FedActors.Actors.Protocol;
using FedActors.Training.Weights;

namespace FedActors.Actors.Transfer;

/// <summary>Task-style access to a node's <see cref="WeightsTransfer"/> (actors can Tell the same messages instead).</summary>
public static class WeightsTransferClient
{
    /// <summary>Makes <paramref name="weights"/> fetchable from other nodes until released.</summary>
    public static Task<WeightsRef> OfferAsync(this IActorRef transfer, ModelWeights weights, TimeSpan timeout) =>
        transfer.Ask<WeightsRef>(new OfferWeights(weights), timeout);

    /// <summary>Resolves a reference; fails with <see cref="WeightsTransferException"/> on a corrupted or missing blob.</summary>
    public static async Task<ModelWeights> FetchAsync(this IActorRef transfer, WeightsRef weights, TimeSpan timeout) =>
        (await transfer.Ask<WeightsFetched>(new FetchWeights(weights), timeout)).Weights;
}
