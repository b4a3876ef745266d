using System.Diagnostics;
using FedActors.Training.Models;
using static TorchSharp.torch;

namespace FedActors.Training.Benchmarks;

/// <summary>One model at one input size and batch size; <see cref="Create"/> builds it fresh.</summary>
public sealed record ThroughputCase(string Model, int ImageSize, int BatchSize, Func<nn.Module<Tensor, Tensor>> Create);

/// <param name="PeakMemoryMb">
/// Peak resident memory of the whole process during the case (VmHWM, reset before each
/// case where Linux allows it, else the process's peak so far): runtime and libtorch included.
/// </param>
public sealed record ThroughputRow(string Model, int ImageSize, int BatchSize, double ImagesPerSecond, double PeakMemoryMb);

/// <summary>
/// Training throughput of the backbones on this machine: images per second of forward,
/// backward and an SGD step on random single-channel images, with a stand-in loss
/// (mean square of the output) so no head or objective is timed. Not a test: numbers
/// depend on the machine and its load.
/// </summary>
public static class EncoderThroughput
{
    /// <summary>
    /// The standard set: the small CNN (32, 64, 128, 128) at 32 px, full-width ResNet-18 at
    /// 32 and 64 px (small-image stem), U-Net encoder and full U-Net (base 32, depth 4, 2 classes)
    /// at 64 and 96 px, each at every batch size given.
    /// </summary>
    public static IReadOnlyList<ThroughputCase> StandardCases(IReadOnlyList<int> batchSizes)
    {
        var models = new (string Model, int Size, Func<nn.Module<Tensor, Tensor>> Create)[]
        {
            ("small-cnn-32-64-128-128", 32, () => new SmallCnnEncoder([32, 64, 128, 128])),
            ("resnet18", 32, () => new ResNet18Encoder(ResNet18Encoder.StemFor(32))),
            ("resnet18", 64, () => new ResNet18Encoder(ResNet18Encoder.StemFor(64))),
            ("unet-encoder-32x4", 64, () => new UNetEncoder(32, 4)),
            ("unet-encoder-32x4", 96, () => new UNetEncoder(32, 4)),
            ("unet2d-32x4", 64, () => new UNet2D(new UNetEncoder(32, 4), 2)),
            ("unet2d-32x4", 96, () => new UNet2D(new UNetEncoder(32, 4), 2)),
        };
        return models.SelectMany(m => batchSizes.Select(b => new ThroughputCase(m.Model, m.Size, b, m.Create))).ToList();
    }

    public static IReadOnlyList<ThroughputRow> Run(IEnumerable<ThroughputCase> cases, int warmupSteps = 2, int measuredSteps = 5,
        ulong seed = 0)
    {
        if (warmupSteps < 0) throw new ArgumentOutOfRangeException(nameof(warmupSteps), warmupSteps, "must be non-negative");
        if (measuredSteps < 1) throw new ArgumentOutOfRangeException(nameof(measuredSteps), measuredSteps, "must be at least 1");
        return cases.Select(c => Measure(c, warmupSteps, measuredSteps, seed)).ToList();
    }

    private static ThroughputRow Measure(ThroughputCase c, int warmupSteps, int measuredSteps, ulong seed)
    {
        ProcessMemory.ResetPeak();
        using var work = new FixedTrainingWork(c.Create, c.BatchSize, c.ImageSize, seed);
        work.Run(warmupSteps);
        var clock = Stopwatch.StartNew();
        work.Run(measuredSteps);
        var seconds = clock.Elapsed.TotalSeconds;
        return new ThroughputRow(c.Model, c.ImageSize, c.BatchSize, c.BatchSize * measuredSteps / seconds, ProcessMemory.PeakMb());
    }
}
