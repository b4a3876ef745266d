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

    /// <summary>Creates the agent; on <see cref="CrashNode"/> it logs a warning and runs <paramref name="crash"/>.</summary>
    /// <param name="crash">What the crash does: <see cref="KillThisProcess"/> in a node process.</param>
    public NodeFaultAgent(Action crash)
    {
        var log = Context.GetLogger();
        Receive<CrashNode>(c =>
        {
            log.Warning("Scripted crash of this worker node ({0}) in round {1}", c.Node, c.Round);
            crash();
        });
    }

    /// <summary>Props of a <see cref="NodeFaultAgent"/>.</summary>
    /// <param name="crash">What the crash does: <see cref="KillThisProcess"/> in a node process.</param>
    public static Props Props(Action crash) => Akka.Actor.Props.Create(() => new NodeFaultAgent(crash));

    /// <summary>What a real node process does: die at once, as a power cut or OOM kill would.</summary>
    public static void KillThisProcess() => System.Diagnostics.Process.GetCurrentProcess().Kill();
}
