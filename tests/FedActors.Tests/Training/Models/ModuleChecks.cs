using TorchSharp.Modules;
using static TorchSharp.torch;

namespace FedActors.Tests.Training.Models;

/// <summary>Assertions shared by the model specs.</summary>
internal static class ModuleChecks
{
    /// <summary>Every norm layer starts as the identity map (weight 1, bias 0; running stats 0 / 1).</summary>
    public static void NormsStartAsIdentity(nn.Module module)
    {
        var norms = module.modules().Where(m => m is BatchNorm or GroupNorm).ToList();
        Assert.NotEmpty(norms);
        foreach (var norm in norms)
        {
            var state = norm.state_dict();
            Assert.True(state["weight"].eq(1).all().item<bool>(), $"{norm.GetName()} weight not 1");
            Assert.True(state["bias"].eq(0).all().item<bool>(), $"{norm.GetName()} bias not 0");
            if (state.TryGetValue("running_mean", out var mean)) Assert.True(mean.eq(0).all().item<bool>());
            if (state.TryGetValue("running_var", out var variance)) Assert.True(variance.eq(1).all().item<bool>());
        }
    }

    /// <summary>
    /// Conv and linear weights follow PyTorch's default kaiming-uniform(a = √5) init: within
    /// ±1/√fan_in, finite and not all zero (an uninitialised torch.empty would fail one of these).
    /// </summary>
    public static void WeightsHaveDefaultInit(nn.Module module)
    {
        foreach (var (name, weight) in module.named_parameters().Where(p => p.name.EndsWith("weight") && p.parameter.dim() >= 2))
        {
            // PyTorch's fan_in: dim 1 × kernel size, for transposed convs ([in, out, k, k]) too.
            var fanIn = weight.shape[1] * weight.shape.Skip(2).Aggregate(1L, (a, b) => a * b);
            var bound = 1 / Math.Sqrt(fanIn) + 1e-6;
            Assert.True(weight.isfinite().all().item<bool>(), $"{name} not finite");
            Assert.True(weight.abs().max().item<float>() <= bound, $"{name} exceeds ±1/√fan_in");
            Assert.True(weight.abs().max().item<float>() > 0, $"{name} all zero");
        }
    }

    /// <summary>
    /// A backward pass from <paramref name="loss"/> leaves a finite gradient on every parameter,
    /// non-zero except on <paramref name="zeroByDesign"/> (e.g. a bias that a BatchNorm right after cancels).
    /// </summary>
    public static void EveryParameterGetsAGradient(nn.Module module, Tensor loss, params string[] zeroByDesign)
    {
        loss.backward();
        foreach (var (name, p) in module.named_parameters())
        {
            Assert.True(p.grad is not null, $"{name} has no gradient");
            Assert.True(p.grad!.isfinite().all().item<bool>(), $"{name} gradient not finite");
            if (!zeroByDesign.Contains(name)) Assert.True(p.grad!.abs().sum().item<float>() > 0, $"{name} gradient is zero");
        }
    }

    public static long ParameterCount(nn.Module module) => module.parameters().Sum(p => p.numel());
}
