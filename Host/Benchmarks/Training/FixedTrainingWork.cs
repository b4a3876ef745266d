using FedActors.Training.Models;
using FedActors.Training.Objectives;
using FedActors.Training.Randomness;
using static TorchSharp.torch;

namespace FedActors.Training.Benchmarks;

/// <summary>
/// Training work of a fixed cost for benchmarks: a seeded model with SGD (momentum 0.9) and one batch of seeded
/// random single-channel images; each step is forward, backward (stand-in loss: the output's mean square, so no
/// head or objective is timed) and an optimiser step. Every instance built with the same arguments costs the same
/// per step. Build, run and dispose it on one thread; it stays on the CPU.
/// </summary>
public sealed class FixedTrainingWork : IDisposable
{
    private readonly nn.Module<Tensor, Tensor> _model;
    private readonly optim.Optimizer _optimizer;
    private readonly Tensor _images;

    public FixedTrainingWork(Func<nn.Module<Tensor, Tensor>> create, int batchSize, int imageSize, ulong seed = 0)
    {
        _model = TorchRuntime.Seeded(seed, create);
        _model.train();
        _optimizer = Optimizers.Sgd(_model.parameters(), 0.01, momentum: 0.9);
        // seed >> 1: the seed TorchRuntime.Seeded gives torch's global generator, so the images stay the same.
        using var generator = new Generator(seed >> 1);
        _images = TorchDraws.Rand(generator, [batchSize, 1, imageSize, imageSize]);
    }

    /// <summary>The small CNN of the given widths on <paramref name="batchSize"/> images of <paramref name="imageSize"/> px.</summary>
    public static FixedTrainingWork SmallCnn(int[] widths, int batchSize, int imageSize, ulong seed = 0) =>
        new(() => new SmallCnnEncoder(widths), batchSize, imageSize, seed);

    /// <summary>Where the work runs: a lease for another device cannot be honoured by it.</summary>
    public string Device => _images.device.ToString();

    /// <summary>Runs <paramref name="steps"/> training steps, each in its own dispose scope.</summary>
    public void Run(int steps)
    {
        for (var i = 0; i < steps; i++)
        {
            using var scope = NewDisposeScope();
            _optimizer.zero_grad();
            _model.forward(_images).square().mean().backward();
            _optimizer.step();
        }
    }

    public void Dispose()
    {
        _images.Dispose();
        _optimizer.Dispose();
        _model.DisposeTree();
    }
}
