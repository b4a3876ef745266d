using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace FedActors.Training.Objectives;

// Why these exist: TorchSharp 0.107 turns every number it passes to libtorch into a finalizable Scalar
// object and hands over only its native handle, so nothing keeps the object alive during the call. When
// another thread's allocation triggers a GC at that moment, the finalizer can free the native Scalar while
// libtorch is reading it, and the step fails in c10's Scalar::toFloat ("Expected false to be true"). Many
// hospitals training on their own threads make that likely enough to have crashed a 50-round run. The
// optimisers' steps are the densest users of such numbers (three or four per parameter per step), so
// these steps are TorchSharp's own, operation for operation (bit-identical), with every Scalar held in a
// `using` until the step ends. Everything else (options, state, save and load) is TorchSharp's.

/// <summary>TorchSharp's SGD with its step's numbers held alive for the whole step.</summary>
internal sealed class ScalarSafeSgd(IEnumerable<Parameter> parameters, double lr, double momentum = 0, double dampening = 0, double weight_decay = 0)
    : SGD(parameters, lr, momentum, dampening, weight_decay)
{
    public override Tensor step(Func<Tensor>? closure = null) => _step<ParamGroup>(group =>
    {
        var o = group.Options;
        if (o.nesterov!.Value || o.maximize!.Value) throw new NotSupportedException("ScalarSafeSgd implements plain momentum SGD only.");
        var momentum = o.momentum!.Value;
        using var weightDecay = o.weight_decay!.Value.ToScalar();
        using var momentumScalar = momentum.ToScalar();
        using var undamped = (1 - o.dampening!.Value).ToScalar();
        using var descent = (-o.LearningRate!.Value).ToScalar();
        foreach (var param in group.Parameters)
        {
            var grad = param.grad;
            if (grad is null) continue;
            var state = (State)_state[param.Handle];
            if (o.weight_decay.Value != 0) grad = grad.add(param, weightDecay);
            if (momentum != 0)
            {
                var buffer = state.momentum_buffer;
                if (buffer is null) buffer = grad.clone().detach().DetachFromDisposeScope();
                else buffer.mul_(momentumScalar).add_(grad, undamped);
                state.momentum_buffer = buffer;
                grad = buffer;
            }
            param.add_(grad, descent);
        }
    }, closure);
}

/// <summary>TorchSharp's Adam (L2 weight decay added to the gradient) with its step's numbers held alive.</summary>
internal sealed class ScalarSafeAdam(IEnumerable<Parameter> parameters, double lr, double weight_decay = 0)
    : Adam(parameters, lr, weight_decay: weight_decay)
{
    public override Tensor step(Func<Tensor>? closure = null) => _step<ParamGroup>(group =>
    {
        var o = (Options)group.Options;
        foreach (var param in group.Parameters)
        {
            var grad = param.grad;
            if (grad is null) continue;
            var state = (State)_state[param.Handle];
            state.step += 1;
            var decay = o.weight_decay!.Value;
            if (decay != 0)
            {
                using var weightDecay = decay.ToScalar();
                grad = grad.add(param, weightDecay);
            }
            AdamMoments.Apply(param, grad, state.exp_avg, state.exp_avg_sq, state.step, o.LearningRate!.Value,
                o.beta1!.Value, o.beta2!.Value, o.eps!.Value, o.amsgrad!.Value || o.maximize!.Value);
        }
    }, closure);
}

/// <summary>TorchSharp's AdamW (decoupled weight decay) with its step's numbers held alive.</summary>
internal sealed class ScalarSafeAdamW(IEnumerable<Parameter> parameters, double lr, double weight_decay = 0)
    : AdamW(parameters, lr, weight_decay: weight_decay)
{
    public override Tensor step(Func<Tensor>? closure = null) => _step<ParamGroup>(group =>
    {
        var o = (Options)group.Options;
        using var shrink = (1 - o.LearningRate!.Value * o.weight_decay!.Value).ToScalar();
        foreach (var param in group.Parameters)
        {
            var grad = param.grad;
            if (grad is null) continue;
            var state = (State)_state[param.Handle];
            state.step += 1;
            param.mul_(shrink);
            AdamMoments.Apply(param, grad, state.exp_avg, state.exp_avg_sq, state.step, o.LearningRate.Value,
                o.beta1!.Value, o.beta2!.Value, o.eps!.Value, o.amsgrad!.Value || o.maximize!.Value);
        }
    }, closure);
}

/// <summary>The moment update and parameter step Adam and AdamW share, in TorchSharp's order of operations.</summary>
internal static class AdamMoments
{
    public static void Apply(Tensor param, Tensor grad, Tensor expAvg, Tensor expAvgSq, long step, double lr,
        double beta1, double beta2, double eps, bool unsupported)
    {
        if (unsupported) throw new NotSupportedException("The scalar-safe Adam steps implement neither amsgrad nor maximize.");
        var biasCorrection1 = 1 - Math.Pow(beta1, step);
        var biasCorrection2 = 1 - Math.Pow(beta2, step);
        using var beta1Scalar = beta1.ToScalar();
        using var beta2Scalar = beta2.ToScalar();
        using var oneMinusBeta1 = (1 - beta1).ToScalar();
        using var oneMinusBeta2 = (1 - beta2).ToScalar();
        using var rootCorrection2 = Math.Sqrt(biasCorrection2).ToScalar();
        using var epsScalar = eps.ToScalar();
        using var one = 1.ToScalar();
        using var stepSize = (-(lr / biasCorrection1)).ToScalar();
        expAvg.mul_(beta1Scalar).add_(grad, oneMinusBeta1);
        expAvgSq.mul_(beta2Scalar).addcmul_(grad, grad.conj(), oneMinusBeta2);
        var denom = expAvgSq.sqrt().div(rootCorrection2).add_(epsScalar, one);
        param.addcdiv_(expAvg, denom, stepSize);
    }
}
