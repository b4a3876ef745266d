namespace FedActors.Actors;

/// <summary>
/// Dispatchers that keep heavy compute off Akka's default dispatcher, so remoting and
/// cluster heartbeats are never starved by training.
/// </summary>
public static class Dispatchers
{
    /// <summary>Local training; its thread count bounds how many hospitals train at once in a process.</summary>
    public const string Training = "fedactors.training-dispatcher";

    /// <summary>The round coordinator (aggregation and evaluation run there).</summary>
    public const string Coordinator = "fedactors.coordinator-dispatcher";

    /// <summary>Weights transfer: (de)serialising and hashing blobs of tens of MB.</summary>
    public const string Transfer = "fedactors.transfer-dispatcher";

    /// <summary>
    /// The HOCON that defines the three dispatchers: training on <paramref name="trainingThreads"/> dedicated
    /// <see cref="TrainingThreads"/> (one message at a time each), the coordinator on a pinned thread, and transfer on two threads.
    /// </summary>
    /// <param name="trainingThreads">Training threads of this process; values below 1 count as 1.</param>
    public static string Hocon(int trainingThreads) => $$"""
        fedactors.training-dispatcher {
          type = Dispatcher
          executor = "{{typeof(TrainingThreads.Configurator).AssemblyQualifiedName}}"
          throughput = 1
          training-threads.thread-count = {{Math.Max(1, trainingThreads)}}
        }
        fedactors.coordinator-dispatcher {
          type = PinnedDispatcher
        }
        fedactors.transfer-dispatcher {
          type = ForkJoinDispatcher
          dedicated-thread-pool.thread-count = 2
        }
        """;
}
