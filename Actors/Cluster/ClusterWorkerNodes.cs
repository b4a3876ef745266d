using Akka.Actor;
using FedActors.Actors.Faults;
using FedActors.Actors.Protocol;

namespace FedActors.Actors.Cluster;

/// <summary>The cluster's worker nodes by name (their <see cref="NodeRoles.Named"/> role), for scripted worker crashes.</summary>
public sealed class ClusterWorkerNodes(ActorSystem system) : IWorkerNodes
{
    public bool Crash(string node, int round)
    {
        var member = Akka.Cluster.Cluster.Get(system).State.Members.FirstOrDefault(m =>
            m.Status == Akka.Cluster.MemberStatus.Up && m.HasRole(NodeRoles.Worker) && m.HasRole(NodeRoles.Named(node)));
        if (member is null) return false;
        system.ActorSelection(new RootActorPath(member.Address) / "user" / NodeFaultAgent.Name).Tell(new CrashNode(node, round));
        return true;
    }
}
