using System.Numerics;
using System.Runtime.InteropServices;
using FedActors.Training.Weights;

namespace FedActors.Training.Aggregation;

/// <summary>An upload's weights and the (non-negative) weight it gets in the mean.</summary>
public sealed record WeightedContribution(string Contributor, ModelWeights Weights, double Weight);

/// <summary>FedAvg: the element-wise mean of client weights, weighted (by sample count in FedAvg proper).</summary>
public static class FederatedAveraging
{
    /// <summary>
    /// Σ a_i θ_i with a_i = w_i / Σ w_j. Accumulates in double, in the given order, so the
    /// result is reproducible bit for bit when callers order contributions deterministically.
    /// </summary>
    public static ModelWeights WeightedMean(IReadOnlyList<WeightedContribution> contributions)
    {
        if (contributions.Count == 0) throw new ArgumentException("Nothing to aggregate: no contributions.", nameof(contributions));
        foreach (var c in contributions)
            if (!(c.Weight >= 0) || double.IsInfinity(c.Weight))
                throw new ArgumentException($"Contribution of '{c.Contributor}' has invalid weight {c.Weight}.", nameof(contributions));
        var total = contributions.Sum(c => c.Weight);
        if (total <= 0) throw new ArgumentException("Aggregation weights sum to zero.", nameof(contributions));

        var reference = contributions[0].Weights;
        foreach (var c in contributions.Skip(1)) CheckCompatible(reference, c);

        var result = new List<WeightTensor>(reference.Tensors.Count);
        for (var ti = 0; ti < reference.Tensors.Count; ti++)
        {
            var refTensor = reference.Tensors[ti];
            var acc = new double[refTensor.Values.Length];
            foreach (var c in contributions) AddScaled(acc, c.Weights.Tensors[ti].Values, c.Weight / total);
            var values = new float[acc.Length];
            for (var k = 0; k < acc.Length; k++) values[k] = (float)acc[k];
            result.Add(new WeightTensor(refTensor.Name, refTensor.Shape, values));
        }
        return new ModelWeights(result);
    }

    /// <summary>
    /// acc[k] += a·v[k] in double, several lanes at a time: each lane does the scalar loop's multiply and add
    /// (no fused multiply-add), so the sum is the same bit for bit, at memory speed.
    /// </summary>
    private static void AddScaled(double[] acc, float[] v, double a)
    {
        var k = 0;
        if (Vector.IsHardwareAccelerated && v.Length >= Vector<float>.Count)
        {
            var scale = new Vector<double>(a);
            var accumulators = MemoryMarshal.Cast<double, Vector<double>>(acc.AsSpan());
            var inputs = MemoryMarshal.Cast<float, Vector<float>>(v.AsSpan());
            for (var i = 0; i < inputs.Length; i++)
            {
                Vector.Widen(inputs[i], out var low, out var high);
                accumulators[2 * i] += low * scale;
                accumulators[2 * i + 1] += high * scale;
            }
            k = inputs.Length * Vector<float>.Count;
        }
        for (; k < acc.Length; k++) acc[k] += a * v[k];
    }

    private static void CheckCompatible(ModelWeights reference, WeightedContribution c)
    {
        var w = c.Weights;
        if (w.Tensors.Count != reference.Tensors.Count)
            throw new ArgumentException($"Contribution of '{c.Contributor}' has {w.Tensors.Count} tensors, expected {reference.Tensors.Count}.");
        for (var i = 0; i < w.Tensors.Count; i++)
        {
            var (a, b) = (reference.Tensors[i], w.Tensors[i]);
            if (a.Name != b.Name || !a.Shape.SequenceEqual(b.Shape))
                throw new ArgumentException(
                    $"Contribution of '{c.Contributor}': tensor {i} is '{b.Name}' [{string.Join(',', b.Shape)}], expected '{a.Name}' [{string.Join(',', a.Shape)}].");
        }
    }
}
