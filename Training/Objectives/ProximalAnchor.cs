using static TorchSharp.torch;

namespace FedActors.Training.Objectives;

/// <summary>
/// FedProx's anchor (ALGORITHMS.md §5): a copy of the round's global parameters, and the term μ/2·‖θ − θ_g‖² it adds to a
/// local loss. Taken when the global is loaded, kept across the round's steps, released at the next load or disposal.
/// </summary>
internal sealed class ProximalAnchor : IDisposable
{
    private List<Tensor> _global;

    private ProximalAnchor(List<Tensor> global) => _global = global;

    /// <summary>Copies <paramref name="parameters"/> (the global just loaded) outside any dispose scope.</summary>
    public static ProximalAnchor Capture(IEnumerable<Tensor> parameters)
    {
        using (no_grad())
            return new ProximalAnchor(parameters.Select(p => p.detach().clone().DetachFromDisposeScope()).ToList());
    }

    /// <summary><paramref name="loss"/> + μ/2·Σ‖θ − θ_g‖² over <paramref name="parameters"/>, in the order captured.</summary>
    public Tensor AddTo(Tensor loss, IEnumerable<Tensor> parameters, double mu)
    {
        var squared = parameters.Zip(_global, (p, g) => (p - g).pow(2).sum()).Aggregate((a, b) => a + b);
        return loss + mu / 2 * squared;
    }

    /// <summary>Follows the learner to <paramref name="device"/>, values kept.</summary>
    public void MoveTo(Device device) =>
        _global = _global.Select(a => { var moved = a.to(device).clone().DetachFromDisposeScope(); a.Dispose(); return moved; }).ToList();

    public void Dispose()
    {
        foreach (var t in _global) t.Dispose();
        _global = [];
    }
}
