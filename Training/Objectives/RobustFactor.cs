namespace FedActors.Training.Objectives;

/// <summary>
/// Fed-MAS's robust factor of one client (ALGORITHMS.md §4, step 4): from W_c, the per-class mean divergence
/// from the auxiliary prior measured with the global model before training, and L̂_c, the same measured during
/// local training, <c>RF = Σ_c w_c·ŵ_c</c> with <c>w_c = W_c / Σ W</c> and <c>ŵ_c = L̂_c / Σ L̂</c> over the
/// classes the client has (a class absent from its data, NaN in either list, is left out of both sums).
/// </summary>
public static class RobustFactor
{
    /// <summary>RF of one client, in [0, 1]; 0 when no class has both measurements or either sum is zero.</summary>
    /// <param name="globalMeasurement">W_c per class, measured with the global model before training; NaN for a class the client lacks.</param>
    /// <param name="localMeasurement">L̂_c per class, measured during local training; same length, NaN for a class the client lacks.</param>
    /// <exception cref="ArgumentException">The lists differ in length or a measurement is negative.</exception>
    public static double Compute(IReadOnlyList<double> globalMeasurement, IReadOnlyList<double> localMeasurement)
    {
        if (globalMeasurement.Count != localMeasurement.Count)
            throw new ArgumentException($"{globalMeasurement.Count} classes measured before training, {localMeasurement.Count} during it.");
        var present = Enumerable.Range(0, globalMeasurement.Count)
            .Where(c => double.IsFinite(globalMeasurement[c]) && double.IsFinite(localMeasurement[c])).ToList();
        if (present.Any(c => globalMeasurement[c] < 0 || localMeasurement[c] < 0))
            throw new ArgumentException("Divergences are non-negative; a measurement is below 0.");
        var w = present.Sum(c => globalMeasurement[c]);
        var l = present.Sum(c => localMeasurement[c]);
        // Nothing measured, or a model already equal to the prior everywhere: no evidence either way.
        if (present.Count == 0 || w <= 0 || l <= 0) return 0;
        return present.Sum(c => globalMeasurement[c] / w * (localMeasurement[c] / l));
    }

    /// <summary>Per-class means from per-class sums and counts; NaN for a class without samples.</summary>
    public static double[] ClassMeans(IReadOnlyList<double> sums, IReadOnlyList<long> counts) =>
        sums.Select((s, c) => counts[c] > 0 ? s / counts[c] : double.NaN).ToArray();
}
