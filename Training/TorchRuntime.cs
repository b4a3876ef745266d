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
            _seededDepth++;
            try { return create(); }
            finally { _seededDepth--; }
        }
    }

    [ThreadStatic] private static int _seededDepth;

    /// <summary>
    /// Throws unless the calling thread is inside <see cref="Seeded"/>. The constructors of the models whose
    /// initialisers draw from torch's global generator call it: built outside, such a model draws while another
    /// thread may be between its seed and its own model, and neither replays (an in-process benchmark's
    /// ResNet-18 built so changed a concurrent run's initial model).
    /// </summary>
    public static void RequireSeeded(string model)
    {
        if (_seededDepth == 0)
            throw new InvalidOperationException(
                $"{model} draws its initial parameters from torch's global generator: build it inside TorchRuntime.Seeded.");
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

    /// <summary>
    /// Set to <c>on</c> to let libtorch run CPU convolutions through oneDNN (faster for wide models, not
    /// exact on every CPU: see <see cref="CpuConvolutions"/>); anything else, or unset, keeps them exact.
    /// </summary>
    public const string OneDnnVariable = "FEDACTORS_ONEDNN";

    /// <summary>oneDNN's own cap on the instruction sets its kernels may use; the fallback sets it when oneDNN cannot be switched off.</summary>
    public const string OneDnnIsaVariable = "ONEDNN_MAX_CPU_ISA";

    /// <summary>
    /// Which implementation runs float32 convolutions on the CPU in this process, in words for reports:
    /// libtorch's own (im2col + GEMM, the default; NNPACK is switched off too) or oneDNN's.
    /// <para>
    /// oneDNN's JIT convolution kernels in libtorch-cpu 2.10 return wrong results on the AMD EPYC (Zen 5)
    /// machines we run on, for any layer whose channel count is not a multiple of the kernel's block: at
    /// AVX-512, wrong input gradients for 16→8 channels on 8×8 maps; capped at AVX2 (this project's earlier
    /// fix), the forward pass for 12 or 20 input channels and the input gradient for 2, 3, 4, 12 or 20
    /// output channels; capped at AVX, the forward pass for 12 or 20 input channels. The values are
    /// garbage (relative errors of 0.3 to 1, sometimes NaN) that change from call to call, so a U-Net of
    /// width 4 neither trained correctly nor replayed. libtorch's own convolutions are exact and
    /// deterministic on every shape checked (ConvolutionExactnessSpecs), at a cost in speed for wide models
    /// (docs/benchmarks.md); FedActors therefore switches oneDNN off for the whole process when this assembly
    /// loads, unless <see cref="OneDnnVariable"/> is <c>on</c>.
    /// </para>
    /// </summary>
    public static string CpuConvolutions { get; private set; } = "libtorch";

    /// <summary>Whether libtorch may hand CPU convolutions to oneDNN in this process (libtorch's own flag, read back).</summary>
    public static bool OneDnnEnabled => TorchContext.TryOneDnnEnabled() ?? true;

#pragma warning disable CA2255 // deliberate: must run before any code of this library can reach libtorch
    [ModuleInitializer]
    internal static void KeepCpuConvolutionsExact()
#pragma warning restore CA2255
    {
        if (string.Equals(Environment.GetEnvironmentVariable(OneDnnVariable), "on", StringComparison.OrdinalIgnoreCase))
        {
            CpuConvolutions = $"oneDNN ({OneDnnVariable}=on, {OneDnnIsaVariable}={Environment.GetEnvironmentVariable(OneDnnIsaVariable) ?? "unset"})";
            return;
        }
        // NNPACK is libtorch's next choice for batches of 16 or more: Winograd transforms, not exact, and where
        // it cannot start (this machine: "unsupported hardware") libtorch warns on every convolution.
        _ = TorchContext.TrySetNnpack(false);
        if (TorchContext.TrySetOneDnn(false) is { } failure)
        {
            // libtorch's flag is out of reach (another platform's symbol names): oneDNN's SSE4.1 kernels were
            // exact on every shape checked, unlike its AVX, AVX2 and AVX-512 ones. The variable is read once, at
            // oneDNN's first primitive, so it is set now; a value the user set is kept.
            if (Environment.GetEnvironmentVariable(OneDnnIsaVariable) is null && OperatingSystem.IsLinux())
            {
                _ = setenv(OneDnnIsaVariable, "SSE41", overwrite: 0);
                Environment.SetEnvironmentVariable(OneDnnIsaVariable, "SSE41");
            }
            CpuConvolutions = $"oneDNN, {OneDnnIsaVariable}={Environment.GetEnvironmentVariable(OneDnnIsaVariable)} (could not switch oneDNN off: {failure})";
        }
    }

    [DllImport("libc", EntryPoint = "setenv")]
    private static extern int setenv(string name, string value, int overwrite);

    /// <summary>The TorchSharp device named by <paramref name="name"/>.</summary>
    /// <param name="name">A device string such as <c>cpu</c>, <c>cuda</c> or <c>cuda:1</c>.</param>
    /// <exception cref="ArgumentException">TorchSharp does not recognise the name.</exception>
    public static Device ParseDevice(string name)
    {
        try { return new Device(name); }
        catch (Exception e) { throw new ArgumentException($"Unknown device '{name}' (expected cpu, cuda or cuda:N).", e); }
    }
}
