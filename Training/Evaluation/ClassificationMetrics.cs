namespace FedActors.Training.Evaluation;

public static class ClassificationMetrics
{
    public static double Accuracy(IReadOnlyList<long> predicted, IReadOnlyList<int> truth)
    {
        CheckLengths(predicted, truth);
        return predicted.Where((p, i) => p == truth[i]).Count() / (double)truth.Count;
    }

    /// <summary>Mean over classes present in <paramref name="truth"/> of per-class recall.</summary>
    public static double BalancedAccuracy(IReadOnlyList<long> predicted, IReadOnlyList<int> truth, int classes)
    {
        CheckLengths(predicted, truth);
        var correct = new int[classes];
        var total = new int[classes];
        for (var i = 0; i < truth.Count; i++)
        {
            total[truth[i]]++;
            if (predicted[i] == truth[i]) correct[truth[i]]++;
        }
        var present = Enumerable.Range(0, classes).Where(c => total[c] > 0).ToList();
        return present.Average(c => correct[c] / (double)total[c]);
    }

    private static void CheckLengths(IReadOnlyList<long> predicted, IReadOnlyList<int> truth)
    {
        if (predicted.Count != truth.Count) throw new ArgumentException($"{predicted.Count} predictions for {truth.Count} labels.");
        if (truth.Count == 0) throw new ArgumentException("No labels to score.");
    }
}
