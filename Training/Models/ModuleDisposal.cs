using System.Reflection;
using static TorchSharp.torch;

namespace FedActors.Training.Models;

/// <summary>
/// Disposes a module tree down to its native objects. TorchSharp 0.107's <c>Linear</c> and convolution modules
/// override <c>Dispose(bool)</c> without calling the base, so the native module behind each (and its boxed twin) is
/// never freed, and their handles do nothing when finalised: about 0.65 KB per layer. A process that builds and
/// disposes networks over and over (every restore of a passivated hospital, every evaluation) grew by that much
/// each time. What is left after this, about 0.15 KB per module, is TorchSharp's own (its native custom-module
/// constructor), and only building fewer modules avoids it.
/// </summary>
public static class ModuleDisposal
{
    private const BindingFlags Internal = BindingFlags.NonPublic | BindingFlags.Instance;

    private static readonly FieldInfo Handle = typeof(nn.Module).GetField("handle", Internal)
        ?? throw new MissingFieldException("TorchSharp's nn.Module has no 'handle' field: check ModuleDisposal against this TorchSharp version.");

    private static readonly FieldInfo Boxed = typeof(nn.Module).GetField("boxedModule", Internal)
        ?? throw new MissingFieldException("TorchSharp's nn.Module has no 'boxedModule' field: check ModuleDisposal against this TorchSharp version.");

    /// <summary>
    /// Disposes <paramref name="module"/> as <c>Dispose</c> does, then frees every native handle in its tree that TorchSharp
    /// left; or parks it in the <see cref="NetworkPool"/> it came from, within <see cref="NetworkPool.Reusing"/>.
    /// </summary>
    public static void DisposeTree(this nn.Module module)
    {
        if (!NetworkPool.TryPark(module)) FreeTree(module);
    }

    /// <summary><see cref="DisposeTree"/> without parking.</summary>
    internal static void FreeTree(nn.Module module)
    {
        var tree = new List<nn.Module> { module };
        tree.AddRange(module.modules());
        module.Dispose();
        // Both handle types release once and ignore a second release, so modules that did free theirs are unaffected.
        foreach (var m in tree)
        {
            (Handle.GetValue(m) as IDisposable)?.Dispose();
            (Boxed.GetValue(m) as IDisposable)?.Dispose();
        }
    }
}
