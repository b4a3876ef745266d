using static TorchSharp.torch;

namespace FedActors.Training;

/// <summary>Process-wide TorchSharp settings and seeded module construction.</summary>
public static class TorchRuntime
{
    private static readonly object ConstructionLock = new();

    /// <summary>
    /// Runs <paramref name="create"/> with torch's global generator seeded, under a
    /// process-wide lock: parameter initialisers draw from that one generator, so two
    /// threads building modules at once would otherwise interleave their draws.
    /// Every module construction in FedActors goes through here.
    /// </summary>
    public static T Seeded<T>(ulong seed, Func<T> create)
    {
        lock (ConstructionLock)
        {
            manual_seed((long)(seed >> 1));
            return create();
        }
    }

    /// <summary>Sets libtorch's intra-op thread count once per process (0 = leave default).</summary>
    public static void ConfigureThreads(int intraOpThreads)
    {
        if (intraOpThreads > 0 && get_num_threads() != intraOpThreads) set_num_threads(intraOpThreads);
    }

    public static Device ParseDevice(string name)
    {
        try { return new Device(name); }
        catch (Exception e) { throw new ArgumentException($"Unknown device '{name}' (expected cpu, cuda or cuda:N).", e); }
    }
}
