using System.Diagnostics;
using FedActors.Training.Aggregation;
using FedActors.Training.Models;
using FedActors.Training.Weights;

namespace FedActors.Training.Benchmarks;

/// <summary>The aggregation figure: bytes of uploads read per second by the weighted mean, and by a plain copy of the same bytes.</summary>
public sealed record AggregationRow(int Uploads, long BytesPerUpload, double MeanGigabytesPerSecond, double CopyGigabytesPerSecond)
{
    public double Ratio => MeanGigabytesPerSecond / CopyGigabytesPerSecond;
}

/// <summary>
/// How fast the server aggregates: <see cref="FederatedAveraging.WeightedMean"/> over <c>uploads</c> distinct updates of
/// ResNet-18's shapes, against copying the same tensors into a buffer of each tensor's size, measured in the same process one
/// after the other (best of <c>repeats</c> each), so the ratio holds on a loaded machine too. Not a test: the figures depend on
/// the machine.
/// </summary>
public static class AggregationThroughput
{
    public static AggregationRow Run(int uploads, int repeats = 3)
    {
        var shapes = ResNet18Tensors();
        // Distinct arrays per upload, so nothing is served from a cache another upload warmed.
        var contributions = Enumerable.Range(0, uploads).Select(u => new WeightedContribution($"hospital-{u + 1:D3}",
            new ModelWeights(shapes.Select(t =>
            {
                var values = new float[t.Values.Length];
                Array.Fill(values, 1f / (u + 1));
                return new WeightTensor(t.Name, t.Shape, values);
            }).ToList()), u + 1)).ToList();
        var bytesPerUpload = contributions[0].Weights.PayloadBytes;
        var total = (double)bytesPerUpload * uploads;

        var mean = Best(repeats, () => FederatedAveraging.WeightedMean(contributions));
        var copy = Best(repeats, () =>
        {
            var targets = shapes.Select(t => new float[t.Values.Length]).ToArray();
            foreach (var c in contributions)
                for (var ti = 0; ti < targets.Length; ti++)
                    Array.Copy(c.Weights.Tensors[ti].Values, targets[ti], targets[ti].Length);
        });
        return new AggregationRow(uploads, bytesPerUpload, total / mean / 1e9, total / copy / 1e9);
    }

    /// <summary>ResNet-18's tensors (names, shapes, initial values) in state_dict order: what one real upload holds.</summary>
    public static IReadOnlyList<WeightTensor> ResNet18Tensors()
    {
        using var model = TorchRuntime.Seeded(18, () => new ResNet18Encoder(ResNetStem.Standard));
        return ModelWeights.FromModule(model).Tensors;
    }

    /// <summary>The shortest of <paramref name="repeats"/> runs of <paramref name="work"/>, in seconds.</summary>
    public static double Best(int repeats, Action work, Action? before = null)
    {
        var best = double.MaxValue;
        for (var i = 0; i < repeats; i++)
        {
            before?.Invoke(); // untimed
            var watch = Stopwatch.StartNew();
            work();
            best = Math.Min(best, watch.Elapsed.TotalSeconds);
        }
        return best;
    }
}
