using System.Runtime.CompilerServices;
using static TorchSharp.torch;

namespace FedActors.Training.Models;

/// <summary>
/// Networks parked for reuse by the learners an experiment rebuilds from snapshots. TorchSharp keeps about 0.15 KB of
/// native memory for every module it ever builds (see <see cref="ModuleDisposal"/>), so a process that restores
/// passivated hospitals round after round, each with a learner of some forty modules, grew without bound. Within
/// <see cref="Reusing"/> a disposed network (<see cref="ModuleDisposal.DisposeTree"/>) is parked here instead of
/// freed, at most <see cref="MaxParkedPerKind"/> of a kind, and a network of the same kind is taken from here
/// instead of built. A parked network keeps its last values: only a learner that overwrites every parameter and
/// buffer right after (a restore, <c>ILocalLearner.LoadState</c>) may take one, so fresh learners, whose initial
/// values come from their seed, are built outside the scope.
/// </summary>
public sealed class NetworkPool
{
    /// <summary>Per kind of network; a learner holds two or three of a kind, and a few learners are rebuilt at a time.</summary>
    public const int MaxParkedPerKind = 4;

    [ThreadStatic] private static int _reusing;
    private static readonly ConditionalWeakTable<nn.Module, Origin> Origins = new();

    private sealed record Origin(NetworkPool Pool, string Kind);

    private readonly Dictionary<string, Stack<nn.Module>> _parked = new();

    /// <summary>
    /// On this thread until disposed: networks of a pool are taken from it rather than built, and disposed ones parked.
    /// Only around building a learner that is then loaded from a snapshot, and around disposing learners.
    /// </summary>
    public static IDisposable Reusing()
    {
        _reusing++;
        return new Scope();
    }

    /// <summary>Networks parked now, of every kind.</summary>
    public int Parked
    {
        get { lock (_parked) return _parked.Values.Sum(s => s.Count); }
    }

    /// <summary>A parked network of <paramref name="kind"/> within <see cref="Reusing"/>, else a new one from <paramref name="build"/>.</summary>
    public T Build<T>(string kind, Func<T> build) where T : nn.Module
    {
        if (_reusing > 0)
            lock (_parked)
                if (_parked.TryGetValue(kind, out var parked) && parked.Count > 0)
                    return (T)parked.Pop();
        var network = build();
        Origins.AddOrUpdate(network, new Origin(this, kind));
        return network;
    }

    /// <summary>Parks <paramref name="network"/> if it came from a pool, the thread is within <see cref="Reusing"/> and there is room.</summary>
    internal static bool TryPark(nn.Module network)
    {
        if (_reusing == 0 || !Origins.TryGetValue(network, out var origin)) return false;
        lock (origin.Pool._parked)
        {
            if (!origin.Pool._parked.TryGetValue(origin.Kind, out var parked)) origin.Pool._parked[origin.Kind] = parked = new();
            if (parked.Contains(network)) return true; // disposed twice: parked once, or two learners would share it
            if (parked.Count >= MaxParkedPerKind) return false;
            // What a new network has and a snapshot does not restore: training mode, gradients on and none held.
            network.train();
            network.zero_grad();
            foreach (var p in network.parameters()) p.requires_grad = true;
            parked.Push(network);
            return true;
        }
    }

    /// <summary>Disposes every parked network (a run's end, or a spec counting what else holds tensors).</summary>
    public void Clear()
    {
        List<nn.Module> parked;
        lock (_parked)
        {
            parked = _parked.Values.SelectMany(s => s).ToList();
            _parked.Clear();
        }
        foreach (var network in parked) ModuleDisposal.FreeTree(network);
    }

    private sealed class Scope : IDisposable
    {
        private bool _done;

        public void Dispose()
        {
            if (_done) return;
            _done = true;
            _reusing--;
        }
    }
}
