using TorchSharp.Modules;
using static TorchSharp.torch;

namespace FedActors.Training.Objectives;

/// <summary>An optimiser's state (SGD's momentum, Adam's moments) saved with a learner and carried when its module moves between devices.</summary>
internal static class Optimizers
{
    /// <summary>SGD with momentum and L2 weight decay, as <c>optim.SGD</c>, safe to step beside other threads (<see cref="ScalarSafeSgd"/>).</summary>
    public static SGD Sgd(IEnumerable<Parameter> parameters, double learningRate, double momentum = 0, double weightDecay = 0) =>
        new ScalarSafeSgd(parameters, learningRate, momentum, weight_decay: weightDecay);

    /// <summary>Adam with L2 weight decay, as <c>optim.Adam</c>, safe to step beside other threads.</summary>
    public static Adam Adam(IEnumerable<Parameter> parameters, double learningRate, double weightDecay = 0) =>
        new ScalarSafeAdam(parameters, learningRate, weightDecay);

    /// <summary>AdamW (decoupled weight decay), as <c>optim.AdamW</c>, safe to step beside other threads.</summary>
    public static AdamW AdamW(IEnumerable<Parameter> parameters, double learningRate, double weightDecay = 0) =>
        new ScalarSafeAdamW(parameters, learningRate, weightDecay);

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

    /// <summary>
    /// The same for any optimiser (Adam): its state dict travels as bytes into one built over the moved
    /// parameters, then follows them to <paramref name="device"/>.
    /// </summary>
    public static OptimizerHelper Rehome(nn.Module module, OptimizerHelper old, Device device, Func<IEnumerable<Parameter>, OptimizerHelper> create)
    {
        if (old is SGD sgd) return Rehome(module, sgd, device, p => (SGD)create(p));
        var state = Save(old);
        var optimizer = create(module.parameters());
        Restore("moved optimiser", optimizer, state, device);
        old.Dispose();
        return optimizer;
    }

    /// <summary>The optimiser's state dict as bytes, for a learner's saved state.</summary>
    public static byte[] Save(OptimizerHelper optimizer)
    {
        using var buffer = new MemoryStream();
        using (var writer = new BinaryWriter(buffer, System.Text.Encoding.UTF8, leaveOpen: true))
            optimizer.save_state_dict(writer);
        return buffer.ToArray();
    }

    /// <summary>Loads <see cref="Save"/>'s bytes, which must be used up exactly; errors name the source. Not in a dispose scope: loading allocates the momentum buffers.</summary>
    public static void Restore(string source, OptimizerHelper optimizer, byte[] state, Device device) =>
        LearnerStateFormat.Restore(source, "optimizer state", () =>
        {
            using var reader = new BinaryReader(new MemoryStream(state, writable: false));
            optimizer.load_state_dict(reader);
            if (reader.BaseStream.Position != reader.BaseStream.Length)
                throw new InvalidOperationException($"{reader.BaseStream.Length - reader.BaseStream.Position} bytes left over");
            optimizer.to(device); // loaded momentum buffers are created on the CPU
        });
}
