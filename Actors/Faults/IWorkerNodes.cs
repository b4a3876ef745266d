namespace FedActors.Actors.Faults;

/// <summary>The cluster's worker nodes as the coordinator sees them, for scripted worker crashes.</summary>
public interface IWorkerNodes
{
    /// <summary>Crashes the worker named <paramref name="node"/>; false when no such worker is up.</summary>
    bool Crash(string node, int round);
}
