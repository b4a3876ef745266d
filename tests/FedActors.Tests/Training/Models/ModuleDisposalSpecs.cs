using FedActors.Training;
using System.Reflection;
using System.Runtime.InteropServices;
using FedActors.Training.Models;
using static TorchSharp.torch;

namespace FedActors.Tests.Training.Models;

public class ModuleDisposalSpecs
{
    private static bool HoldsNativeModule(nn.Module module) =>
        typeof(nn.Module).GetField("handle", BindingFlags.NonPublic | BindingFlags.Instance)!.GetValue(module) is SafeHandle { IsInvalid: false };

    [Fact]
    public void Should_leave_native_modules_behind_with_torchsharps_own_dispose()
    {
        // The TorchSharp behaviour DisposeTree works around: if this starts failing, TorchSharp frees them itself now.
        var linear = TorchRuntime.Seeded(1, () => nn.Linear(4, 4));
        linear.Dispose();
        Assert.True(HoldsNativeModule(linear));
    }

    [Fact]
    public void Should_free_the_native_module_of_every_layer_in_the_tree()
    {
        var network = TorchRuntime.Seeded(1, () => ProjectedEncoder.SmallCnn([8, 8, 16, 16], 16));
        var tree = network.modules().Prepend(network).ToList();
        Assert.Contains(tree, m => m is TorchSharp.Modules.Conv2d);
        Assert.Contains(tree, m => m is TorchSharp.Modules.Linear);
        Assert.All(tree, m => Assert.True(HoldsNativeModule(m)));

        network.DisposeTree();

        Assert.All(tree, m => Assert.False(HoldsNativeModule(m), $"{m.GetType().Name} still holds its native module"));
    }
}
