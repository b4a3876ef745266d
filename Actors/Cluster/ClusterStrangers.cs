using Akka.Actor;
using Akka.Cluster;
using Akka.Event;

namespace FedActors.Actors.Cluster;

/// <summary>
/// Who is a stranger to this node's cluster: an address that is neither this node's nor a current member's (Joining, Up,
/// WeaklyUp, Leaving or Exiting). A remoting-only system (no cluster) has no strangers to tell apart.
/// </summary>
public static class ClusterStrangers
{
    /// <summary>Whether <paramref name="address"/> is this node's or a current member's (always true without a cluster).</summary>
    /// <param name="system">This node's ActorSystem.</param>
    /// <param name="address">The address to check (e.g. an actor reference's <c>Path.Address</c>).</param>
    public static bool IsMember(ActorSystem system, Address address)
    {
        if (address.HasLocalScope || ((ExtendedActorSystem)system).Provider is not ClusterActorRefProvider) return true;
        var cluster = Akka.Cluster.Cluster.Get(system);
        if (address.Equals(cluster.SelfAddress)) return true;
        return cluster.State.Members.Any(m => m.Address.Equals(address) && m.Status is MemberStatus.Joining or MemberStatus.WeaklyUp
            or MemberStatus.Up or MemberStatus.Leaving or MemberStatus.Exiting);
    }

    /// <summary>
    /// Whether a message from or for <paramref name="actor"/> is admitted: true if the actor is local or on a member; else
    /// logs a warning naming <paramref name="what"/>, the address and the reason, and returns false.
    /// </summary>
    /// <param name="context">The receiving actor's context (its system and log).</param>
    /// <param name="actor">The sender or listener the message names.</param>
    /// <param name="what">What is refused, for the log ("a run subscription").</param>
    public static bool Admits(IActorContext context, IActorRef actor, string what)
    {
        if (IsMember(context.System, actor.Path.Address)) return true;
        Akka.Event.Logging.GetLogger(context.System, context.Self.Path.Name)
            .Warning("Refused {0} from {1}: not a member of this cluster", what, actor.Path.Address);
        return false;
    }
}
