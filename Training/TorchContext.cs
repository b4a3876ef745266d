using System.Runtime.InteropServices;
using TorchSharp;

namespace FedActors.Training;

/// <summary>
/// libtorch's process-wide <c>at::Context</c> flags that TorchSharp 0.107 does not bind, reached through
/// their exported C++ symbols in libtorch_cpu (Itanium ABI: Linux, macOS). Every call is guarded: where
/// the library or a symbol is missing, the answer says so instead of throwing.
/// </summary>
internal static unsafe class TorchContext
{
    private const string GlobalContext = "_ZN2at13globalContextEv";
    private const string SetUserEnabledMkldnn = "_ZN2at7Context20setUserEnabledMkldnnEb";
    private const string UserEnabledMkldnn = "_ZNK2at7Context17userEnabledMkldnnEv";
    private const string SetUserEnabledNnpack = "_ZN2at7Context20setUserEnabledNNPACKEb";
    private const string UserEnabledNnpack = "_ZNK2at7Context17userEnabledNNPACKEv";

    /// <summary>Sets libtorch's "use oneDNN" flag; null on success, else why it could not.</summary>
    public static string? TrySetOneDnn(bool enabled) => TrySet("oneDNN", SetUserEnabledMkldnn, UserEnabledMkldnn, enabled);

    /// <summary>Sets libtorch's "use NNPACK" flag; null on success, else why it could not.</summary>
    public static string? TrySetNnpack(bool enabled) => TrySet("NNPACK", SetUserEnabledNnpack, UserEnabledNnpack, enabled);

    private static string? TrySet(string what, string setter, string getter, bool enabled)
    {
        if (!TryResolve(out var library, out var failure)) return failure;
        if (!NativeLibrary.TryGetExport(library, setter, out var set) || TryRead(library, getter) is null)
            return $"libtorch_cpu does not export at::Context's {what} flag under its Itanium names";
        ((delegate* unmanaged<IntPtr, byte, void>)set)(Context(library), enabled ? (byte)1 : (byte)0);
        var now = TryRead(library, getter)!.Value;
        return now == enabled ? null : $"libtorch kept {what} {(now ? "on" : "off")}";
    }

    /// <summary>libtorch's "use oneDNN" flag, or null where it cannot be read.</summary>
    public static bool? TryOneDnnEnabled() => TryResolve(out var library, out _) ? TryRead(library, UserEnabledMkldnn) : null;

    /// <summary>One of at::Context's flags through its exported getter, or null where a symbol is missing.</summary>
    private static bool? TryRead(IntPtr library, string getter) =>
        NativeLibrary.TryGetExport(library, GlobalContext, out _) && NativeLibrary.TryGetExport(library, getter, out var get)
            ? ((delegate* unmanaged<IntPtr, byte>)get)(Context(library)) != 0
            : null;

    /// <summary>at::globalContext(); call only once its export is known to exist.</summary>
    private static IntPtr Context(IntPtr library) => ((delegate* unmanaged<IntPtr>)NativeLibrary.GetExport(library, GlobalContext))();

    private static bool TryResolve(out IntPtr library, out string failure)
    {
        library = IntPtr.Zero;
        failure = "";
        try
        {
            // Loads TorchSharp's natives (libtorch among them) the way TorchSharp itself does.
            if (!torch.TryInitializeDeviceType(DeviceType.CPU))
            {
                failure = "TorchSharp's native library did not load";
                return false;
            }
        }
        catch (Exception e)
        {
            failure = $"TorchSharp's native library did not load: {e.Message}";
            return false;
        }
        // Already loaded by TorchSharp: the loader finds it by its soname.
        if (NativeLibrary.TryLoad("libtorch_cpu.so", out library) ||
            NativeLibrary.TryLoad("torch_cpu", typeof(torch).Assembly, null, out library)) return true;
        failure = "libtorch_cpu is not loaded in this process";
        return false;
    }
}
