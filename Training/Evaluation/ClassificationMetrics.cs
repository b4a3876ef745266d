namespace FedActors.Training.Evaluation;

/// <summary>Classification scores from predicted and true class indices (and ROC-AUC from scores); inputs are left unchanged.</summary>
public static class ClassificationMetrics
{
    /// <summary>Fraction of predictions equal to the true class, in [0, 1].</summary>
    /// <param name="predicted">Predicted class per sample.</param>
    /// <param name="truth">True class per sample; as many as <paramref name="predicted"/>, at least one.</param>
    /// <exception cref="ArgumentException">The lengths differ or there are no samples.</exception>
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

    /// <summary>
    /// Binary ROC-AUC: the probability that a random positive scores above a random
    /// negative (ties count half), by the rank-sum formula.
    /// </summary>
    public static double RocAuc(IReadOnlyList<double> scores, IReadOnlyList<bool> positive)
    {
        if (scores.Count != positive.Count) throw new ArgumentException($"{scores.Count} scores for {positive.Count} labels.");
        var nPos = positive.Count(p => p);
        var nNeg = positive.Count - nPos;
        if (nPos == 0 || nNeg == 0) throw new ArgumentException("ROC-AUC needs both positive and negative samples.");
        var order = Enumerable.Range(0, scores.Count).OrderBy(i => scores[i]).ToArray();
        double rankSumPos = 0;
        for (var start = 0; start < order.Length;)
        {
            var end = start;
            while (end + 1 < order.Length && scores[order[end + 1]] == scores[order[start]]) end++;
            var midRank = (start + end) / 2.0 + 1; // average rank of a tie group, 1-based
            for (var j = start; j <= end; j++)
                if (positive[order[j]]) rankSumPos += midRank;
            start = end + 1;
        }
        return (rankSumPos - nPos * (nPos + 1) / 2.0) / ((double)nPos * nNeg);
    }

    /// <summary>Macro one-vs-rest ROC-AUC over the classes present with both outcomes; <paramref name="probabilities"/> is [N, C] row-major.</summary>
    public static double MacroRocAuc(IReadOnlyList<double> probabilities, IReadOnlyList<int> truth, int classes)
    {
        if (probabilities.Count != truth.Count * classes)
            throw new ArgumentException($"{probabilities.Count} probabilities for {truth.Count} samples × {classes} classes.");
        var aucs = new List<double>();
        for (var c = 0; c < classes; c++)
        {
            var isC = truth.Select(t => t == c).ToArray();
            if (isC.All(x => x) || !isC.Any(x => x)) continue;
            aucs.Add(RocAuc(Enumerable.Range(0, truth.Count).Select(i => probabilities[i * classes + c]).ToArray(), isC));
        }
        if (aucs.Count == 0) throw new ArgumentException("No class has both positive and negative samples.");
        return aucs.Average();
    }
}
