using System.Collections.Concurrent;
using Akka.Configuration;
using Akka.Dispatch;

namespace FedActors.Actors;

/// <summary>
/// The training dispatcher's executor: a fixed set of dedicated threads taking work from one shared blocking queue,
/// so every idle thread wakes as soon as there is work for it. Akka's fork-join executor (Helios'
/// DedicatedThreadPool) wakes at most about one sleeping thread per core: with four device slots on a two-core
/// node, four hospitals granted leases at once started two at a time and left granted slots idle, which would
/// starve a GPU node with fewer cores than slots. Training runs seconds per message, so a lock-protected
/// queue costs nothing measurable here.
/// </summary>
public sealed class TrainingThreads : ExecutorService
{
    private readonly BlockingCollection<IRunnable> _work = new();
    private readonly List<Thread> _threads;
    private readonly Action<Exception> _escaped;
    private int _idle;

    /// <summary>Creates the executor and starts its background threads, named <c>ID-1</c>, <c>ID-2</c>, ...</summary>
    /// <param name="id">The executor's id, also the prefix of its threads' names.</param>
    /// <param name="threadCount">How many threads, at least 1.</param>
    /// <param name="escaped">Told of anything that escapes a mailbox run (the actor system's event stream, in a node).</param>
    public TrainingThreads(string id, int threadCount, Action<Exception>? escaped = null) : base(id)
    {
        _escaped = escaped ?? (e => Console.Error.WriteLine($"{Thread.CurrentThread.Name}: {e}"));
        if (threadCount < 1) throw new ArgumentOutOfRangeException(nameof(threadCount), threadCount, "at least one training thread");
        _threads = Enumerable.Range(0, threadCount).Select(i => new Thread(Work) { IsBackground = true, Name = $"{id}-{i + 1}" }).ToList();
        foreach (var thread in _threads) thread.Start();
    }

    /// <summary>How many threads the executor runs (fixed at creation).</summary>
    public int ThreadCount => _threads.Count;

    /// <summary>
    /// How many threads are waiting for work right now. A spec waits for all of them to be idle before it hands them
    /// work at once, the case this executor exists for; it needs no sleep to get there.
    /// </summary>
    public int IdleThreads => Volatile.Read(ref _idle);

    /// <summary>Queues <paramref name="run"/> for the next idle thread.</summary>
    /// <param name="run">A mailbox run.</param>
    /// <exception cref="RejectedExecutionException">The executor is shut down.</exception>
    public override void Execute(IRunnable run)
    {
        if (_work.IsAddingCompleted) throw new RejectedExecutionException($"{Id} is shut down");
        try { _work.Add(run); }
        catch (InvalidOperationException) { throw new RejectedExecutionException($"{Id} is shut down"); } // shut down meanwhile
    }

    /// <summary>Accepts no more work; the threads finish what is queued, then end.</summary>
    public override void Shutdown() => _work.CompleteAdding();

    private void Work()
    {
        while (true)
        {
            Interlocked.Increment(ref _idle);
            // False once shut down and drained.
            var got = _work.TryTake(out var run, Timeout.Infinite);
            Interlocked.Decrement(ref _idle);
            if (!got) return;
            // A mailbox run handles its actor's failures itself; anything escaping it must not take the thread with it.
            try { run!.Run(); }
            catch (Exception e) { _escaped(e); }
        }
    }

    /// <summary>Named by the dispatcher's <c>executor</c> setting; reads <c>training-threads.thread-count</c>.</summary>
    /// <param name="config">The dispatcher's config section.</param>
    /// <param name="prerequisites">The dispatcher's prerequisites; its event stream is told of exceptions escaping a mailbox run.</param>
    public sealed class Configurator(Config config, IDispatcherPrerequisites prerequisites) : ExecutorServiceConfigurator(config, prerequisites)
    {
        /// <inheritdoc/>
        public override ExecutorService Produce(string id) => new TrainingThreads(id, Config.GetInt("training-threads.thread-count", 1),
            e => Prerequisites.EventStream.Publish(new Akka.Event.Error(e, id, typeof(TrainingThreads), "escaped a mailbox run")));
    }
}
