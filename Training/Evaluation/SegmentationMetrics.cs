namespace FedActors.Training.Evaluation;

/// <summary>Overlap scores of predicted against true label maps (one class index per voxel).</summary>
public static class SegmentationMetrics
{
    /// <summary>
    /// Dice 2|P∩T| / (|P| + |T|) of each class 1..C−1 (0 is background) over label maps.
    /// A class absent from both prediction and truth scores NaN (excluded from means), not 1.
    /// </summary>
    public static double[] DicePerClass(ReadOnlySpan<byte> predicted, ReadOnlySpan<byte> truth, int classes)
    {
        if (predicted.Length != truth.Length) throw new ArgumentException($"{predicted.Length} predicted voxels for {truth.Length} labelled ones.");
        var inter = new long[classes];
        var pred = new long[classes];
        var real = new long[classes];
        for (var i = 0; i < truth.Length; i++)
        {
            int p = predicted[i], t = truth[i];
            if (p >= classes || t >= classes) throw new ArgumentException($"Label {Math.Max(p, t)} at voxel {i} is outside 0..{classes - 1}.");
            pred[p]++;
            real[t]++;
            if (p == t) inter[p]++;
        }
        return Enumerable.Range(1, classes - 1)
            .Select(c => pred[c] + real[c] == 0 ? double.NaN : 2.0 * inter[c] / (pred[c] + real[c]))
            .ToArray();
    }

    /// <summary>Mean Dice over foreground classes that occur (NaN entries skipped).</summary>
    public static double MeanForegroundDice(ReadOnlySpan<byte> predicted, ReadOnlySpan<byte> truth, int classes)
    {
        var present = DicePerClass(predicted, truth, classes).Where(d => !double.IsNaN(d)).ToList();
        return present.Count == 0 ? double.NaN : present.Average();
    }
}
