using Akka.Actor;
using FedActors.Actors.Faults;
using FedActors.Actors.Protocol;

namespace FedActors.Actors.Cluster;

/// <summary>The cluster's worker nodes by name (their <see cref="NodeRoles.Named"/> role), for scripted worker crashes.</summary>
/// <param name="system">The coordinator's ActorSystem, whose cluster membership is searched.</param>
public sealed class ClusterWorkerNodes(ActorSystem system) : IWorkerNodes
{
    /// <inheritdoc/>
    /// <remarks>Sends <see cref="CrashNode"/> to the <see cref="NodeFaultAgent"/> of the Up worker whose role names <paramref name="node"/>.</remarks>
    public bool Crash(string node, int round)
    {
        var member = Akka.Cluster.Cluster.Get(system).State.Members.FirstOrDefault(m =>
            m.Status == Akka.Cluster.MemberStatus.Up && m.HasRole(NodeRoles.Worker) && m.HasRole(NodeRoles.Named(node)));
        if (member is null) return false;
        system.ActorSelection(new RootActorPath(member.Address) / "user" / NodeFaultAgent.Name).Tell(new CrashNode(node, round));
        return true;
    }
}
