using static TorchSharp.torch;

namespace FedActors.Training.Evaluation;

/// <summary>A detached copy of a module's state, for keeping the best epoch's weights during model selection.</summary>
internal sealed class ModuleSnapshot : IDisposable
{
    private readonly Dictionary<string, Tensor> _state;

    private ModuleSnapshot(Dictionary<string, Tensor> state) => _state = state;

    public static ModuleSnapshot Take(nn.Module module) =>
        new(module.state_dict().ToDictionary(kv => kv.Key, kv => kv.Value.detach().clone()));

    public void RestoreInto(nn.Module module)
    {
        using var _ = no_grad();
        foreach (var (name, value) in module.state_dict()) value.copy_(_state[name]);
    }

    public void Dispose()
    {
        foreach (var t in _state.Values) t.Dispose();
    }
}
