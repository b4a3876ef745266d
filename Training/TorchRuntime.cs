using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
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
#pragma warning disable RS0030 // the one sanctioned reseed of torch's global generator: module initialisers draw from it, under this lock
            manual_seed((long)(seed >> 1));
#pragma warning restore RS0030
            return create();
        }
    }

    /// <summary>Sets libtorch's intra-op thread count (0 = leave it); threads that start libtorch work afterwards take it.</summary>
    public static void ConfigureThreads(int intraOpThreads)
    {
        if (intraOpThreads > 0 && get_num_threads() != intraOpThreads) set_num_threads(intraOpThreads);
    }

    /// <summary>
    /// Runs <paramref name="work"/> on a thread of its own that ends with it. libtorch's CPU kernels run their
    /// intra-op parallel regions in an OpenMP (libgomp) thread team that belongs to the calling thread and lives
    /// as long as it does; once a process holds more OpenMP threads than cores, libgomp stops spinning between
    /// regions in every team, and the training threads' many small regions each pay a wake-up: measured here, a
    /// small CNN trained 1.7 times slower on a training thread once the main thread had run libtorch work. Work
    /// that needs libtorch outside the training threads (building the experiment, evaluating a global model)
    /// runs through here, so its team goes away when it is done.
    /// </summary>
    public static T OnPassingThread<T>(Func<T> work)
    {
        T result = default!;
        System.Runtime.ExceptionServices.ExceptionDispatchInfo? failure = null;
        var thread = new Thread(() =>
        {
            try { result = work(); }
            catch (Exception e) { failure = System.Runtime.ExceptionServices.ExceptionDispatchInfo.Capture(e); }
        }, maxStackSize: 16 << 20) { IsBackground = true, Name = "fedactors-torch-passing" };
        thread.Start();
        thread.Join();
        failure?.Throw();
        return result;
    }

    public const string OneDnnIsaVariable = "ONEDNN_MAX_CPU_ISA";

    /// <summary>
    /// Caps oneDNN at AVX2. Its AVX-512 convolution backward-data kernels in libtorch-cpu 2.10
    /// return wrong input gradients (finite garbage, sometimes NaN, varying call to call) on
    /// the AMD EPYC machines we run on, e.g. for a 16→8-channel 3×3 conv on 8×8 maps; capped at
    /// AVX2 they are exact. oneDNN reads the variable once, at its first primitive, so it is set
    /// in the native environment when this assembly loads; a value the user set is kept.
    /// </summary>
#pragma warning disable CA2255 // deliberate: must run before any code of this library can reach libtorch
    [ModuleInitializer]
    internal static void CapOneDnnIsa()
#pragma warning restore CA2255
    {
        if (!OperatingSystem.IsLinux() || RuntimeInformation.ProcessArchitecture != Architecture.X64) return;
        if (Environment.GetEnvironmentVariable(OneDnnIsaVariable) is not null) return;
        // .NET keeps its own copy of the environment on Unix: set both, so oneDNN sees the cap
        // and managed code (reports, child processes) sees it too.
        _ = setenv(OneDnnIsaVariable, "AVX2", overwrite: 0);
        Environment.SetEnvironmentVariable(OneDnnIsaVariable, "AVX2");
    }

    [DllImport("libc", EntryPoint = "setenv")]
    private static extern int setenv(string name, string value, int overwrite);

    public static Device ParseDevice(string name)
    {
        try { return new Device(name); }
        catch (Exception e) { throw new ArgumentException($"Unknown device '{name}' (expected cpu, cuda or cuda:N).", e); }
    }
}
