using Akka.Actor;
using FedActors.Actors.Cluster;
using FedActors.Actors.Protocol;

namespace FedActors.Actors.Transfer;

/// <summary>
/// Whom a node fetches weights from: only the owner named by a reference that is a current cluster member (in a
/// cluster; a remoting-only system trusts its peers), and over a side channel only at the owner's own host.
/// </summary>
public static class TransferPeers
{
    /// <summary>Why weights of <paramref name="reference"/> are not fetched at all, or null to go ahead.</summary>
    /// <param name="system">The fetching node's ActorSystem.</param>
    /// <param name="reference">The reference received.</param>
    public static string? Refusal(ActorSystem system, WeightsRef reference)
    {
        var owner = reference.Owner.Path.Address;
        if (owner.HasLocalScope || ((ExtendedActorSystem)system).Provider is not Akka.Cluster.ClusterActorRefProvider) return null;
        return ClusterStrangers.IsMember(system, owner) ? null : $"their owner {owner} is not a member of this cluster";
    }

    /// <summary>Why the side channel named by <paramref name="reference"/> is not used (chunks over remoting are), or null to use it.</summary>
    /// <param name="reference">The reference received; its owner must be remote.</param>
    public static string? EndpointRefusal(WeightsRef reference)
    {
        var endpoint = reference.BulkEndpoint!;
        var colon = endpoint.LastIndexOf(':');
        var host = colon > 0 ? endpoint[..colon] : endpoint;
        var owner = reference.Owner.Path.Address;
        return owner.HasLocalScope || string.Equals(host, owner.Host, StringComparison.OrdinalIgnoreCase)
            ? null
            : $"the endpoint's host is not the owner's, {owner.Host}";
    }
}
