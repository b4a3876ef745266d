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
        if (!NativeLibrary.TryGetExport(library, GlobalContext, out var context) ||
            !NativeLibrary.TryGetExport(library, setter, out var set) ||
            !NativeLibrary.TryGetExport(library, getter, out var get))
            return $"libtorch_cpu does not export at::Context's {what} flag under its Itanium names";
        var ctx = ((delegate* unmanaged<IntPtr>)context)();
        ((delegate* unmanaged<IntPtr, byte, void>)set)(ctx, enabled ? (byte)1 : (byte)0);
        var now = ((delegate* unmanaged<IntPtr, byte>)get)(ctx) != 0;
        return now == enabled ? null : $"libtorch kept {what} {(now ? "on" : "off")}";
    }

    /// <summary>libtorch's "use oneDNN" flag, or null where it cannot be read.</summary>
    public static bool? TryOneDnnEnabled()
    {
        if (!TryResolve(out var library, out _) ||
            !NativeLibrary.TryGetExport(library, GlobalContext, out var context) ||
            !NativeLibrary.TryGetExport(library, UserEnabledMkldnn, out var get))
            return null;
        return ((delegate* unmanaged<IntPtr, byte>)get)(((delegate* unmanaged<IntPtr>)context)()) != 0;
    }

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
