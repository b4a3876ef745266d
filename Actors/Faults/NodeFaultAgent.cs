using Akka.Actor;
using Akka.Event;
using FedActors.Actors.Protocol;

namespace FedActors.Actors.Faults;

/// <summary>
/// One per worker node, at <see cref="Path"/>: carries out a scripted crash of its node. In a
/// <c>fedactors node</c> process the crash kills the process outright (no goodbye to the
/// cluster); in-process test clusters give an action that takes the node's ActorSystem away.
/// </summary>
public sealed class NodeFaultAgent : ReceiveActor
{
    /// <summary>The agent's actor name under <c>/user</c>.</summary>
    public const string Name = "node-faults";
    /// <summary>The agent's actor path on its node, where <see cref="CrashNode"/> is sent.</summary>
    public const string Path = "/user/" + Name;

    /// <summary>
    /// Creates the agent; on a <see cref="CrashNode"/> that the run's fault plan scripts for this node, sent by the round
    /// coordinator singleton on a cluster member, it logs a warning and runs <paramref name="crash"/>. Any other is refused
    /// with a warning naming the sender and the reason, and the node keeps running.
    /// </summary>
    /// <param name="crash">What the crash does: <see cref="KillThisProcess"/> in a node process.</param>
    /// <param name="scripted">The run's scripted worker crashes (<see cref="FaultPlan.WorkerCrashes"/>); empty: fault injection is off.</param>
    /// <param name="nodeName">This node's name (<c>--name</c>), which a scripted crash must name; null: unnamed.</param>
    public NodeFaultAgent(Action crash, IReadOnlyList<ScriptedWorkerCrash> scripted, string? nodeName)
    {
        var log = Context.GetLogger();
        Receive<CrashNode>(c =>
        {
            var refusal = Refusal(c, Sender, scripted, nodeName);
            if (refusal is not null)
            {
                log.Warning("Refused a crash command for {0} in round {1} from {2}: {3}", c.Node, c.Round, Sender.Path, refusal);
                return;
            }
            log.Warning("Scripted crash of this worker node ({0}) in round {1}", c.Node, c.Round);
            crash();
        });
    }

    /// <summary>Props of a <see cref="NodeFaultAgent"/>.</summary>
    /// <param name="crash">What the crash does: <see cref="KillThisProcess"/> in a node process.</param>
    /// <param name="scripted">The run's scripted worker crashes; empty: every crash command is refused.</param>
    /// <param name="nodeName">This node's name, which a scripted crash must name.</param>
    public static Props Props(Action crash, IReadOnlyList<ScriptedWorkerCrash> scripted, string? nodeName) =>
        Akka.Actor.Props.Create(() => new NodeFaultAgent(crash, scripted, nodeName));

    private string? Refusal(CrashNode command, IActorRef sender, IReadOnlyList<ScriptedWorkerCrash> scripted, string? nodeName)
    {
        if (scripted.Count == 0) return "fault injection is off in this run";
        if (!scripted.Contains(new ScriptedWorkerCrash(command.Node, command.Round)) || command.Node != nodeName)
            return "the run's fault plan scripts no such crash of this node";
        var path = sender.Path.Elements;
        if (path is not ["user", Cluster.ClusterHostingExtensions.CoordinatorSingletonName, Cluster.ClusterHostingExtensions.CoordinatorSingletonName])
            return "the sender is not the round coordinator";
        var address = sender.Path.Address;
        if (address.HasLocalScope || address.Equals(Akka.Cluster.Cluster.Get(Context.System).SelfAddress)) return null;
        return Akka.Cluster.Cluster.Get(Context.System).State.Members.Any(m => m.Address.Equals(address) && m.HasRole(Cluster.NodeRoles.Coordinator)
            && m.Status is Akka.Cluster.MemberStatus.Up or Akka.Cluster.MemberStatus.Leaving or Akka.Cluster.MemberStatus.Exiting)
            ? null
            : "the sender is not a coordinator node of this cluster";
    }

    /// <summary>What a real node process does: die at once, as a power cut or OOM kill would.</summary>
    public static void KillThisProcess() => System.Diagnostics.Process.GetCurrentProcess().Kill();
}
