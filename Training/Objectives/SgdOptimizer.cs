using TorchSharp.Modules;
using static TorchSharp.torch;

namespace FedActors.Training.Objectives;

/// <summary>SGD with momentum over a module whose parameters move between devices.</summary>
internal static class SgdOptimizer
{
    /// <summary>
    /// Call after <c>module.to(device)</c>. TorchSharp's <c>Module.to</c> swaps in new Parameter
    /// objects (PyTorch moves <c>.data</c> in place), so the old optimiser would keep stepping stale
    /// copies: this builds one over the moved parameters and carries each momentum buffer across by name.
    /// </summary>
    public static SGD Rehome(nn.Module module, SGD old, Device device, Func<IEnumerable<Parameter>, SGD> create)
    {
        var moved = module.named_parameters().ToList();
        var momentum = moved.Select(p => p.name)
            .Zip(old.state_dict().State, (name, state) => (name, buffer: ((SGD.State)state).momentum_buffer?.to(device).DetachFromDisposeScope()))
            .ToDictionary(x => x.name, x => x.buffer);
        var optimizer = create(moved.Select(p => p.parameter));
        foreach (var ((name, _), state) in moved.Zip(optimizer.state_dict().State))
            ((SGD.State)state).momentum_buffer = momentum[name];
        old.Dispose();
        return optimizer;
    }
}
