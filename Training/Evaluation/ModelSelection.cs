namespace FedActors.Training.Evaluation;

/// <summary>One validation check during training: the optimiser step it followed and the validation scores there.</summary>
/// <param name="Step">Optimiser steps taken when the check ran (1-based count; the weights after that many steps).</param>
/// <param name="Accuracy">Validation accuracy at that step.</param>
/// <param name="BalancedAccuracy">Validation balanced accuracy (mean per-class recall) at that step: what selection uses.</param>
public sealed record ValidationPoint(int Step, double Accuracy, double BalancedAccuracy);

/// <summary>A model's scores on one named held-out split.</summary>
/// <param name="Split">The split's name, e.g. <see cref="EvaluationSplits.Test"/> or <see cref="EvaluationSplits.TestShifted"/>.</param>
/// <param name="Accuracy">Fraction of the split's images classified correctly.</param>
/// <param name="BalancedAccuracy">Mean per-class recall over the classes present in the split.</param>
public sealed record SplitScore(string Split, double Accuracy, double BalancedAccuracy);

/// <summary>The names of the held-out splits a label-efficiency evaluation scores on.</summary>
public static class EvaluationSplits
{
    /// <summary>The data set's test images as released (no hospital's scanner).</summary>
    public const string Test = "test";

    /// <summary>The same test images, each hospital's share seen through that hospital's own scanner profile.</summary>
    public const string TestShifted = "test-shifted";
}

/// <summary>The model-selection rule every evaluation shares: the best validation balanced accuracy, the earliest of ties; never the test split.</summary>
public static class ModelSelection
{
    /// <summary>The check with the highest <see cref="ValidationPoint.BalancedAccuracy"/> (the earliest step on ties).</summary>
    /// <param name="curve">The validation checks, in any order; at least one.</param>
    /// <exception cref="ArgumentException"><paramref name="curve"/> is empty.</exception>
    public static ValidationPoint Choose(IReadOnlyList<ValidationPoint> curve)
    {
        if (curve.Count == 0) throw new ArgumentException("No validation check to choose from.", nameof(curve));
        return curve.OrderByDescending(p => p.BalancedAccuracy).ThenBy(p => p.Step).First();
    }

    /// <summary>The steps a run of <paramref name="budget"/> optimiser steps is validated after: every <paramref name="every"/>-th step, and always the last.</summary>
    /// <param name="step">The optimiser steps taken so far, 1 to <paramref name="budget"/>.</param>
    /// <param name="budget">Optimiser steps in all; at least 1.</param>
    /// <param name="every">Steps between checks; at least 1.</param>
    public static bool IsCheckStep(int step, int budget, int every) => step % every == 0 || step == budget;

    /// <summary>
    /// The rate of always predicting the most frequent class of <paramref name="trainingLabels"/> (the smallest class index
    /// on ties): the fraction of <paramref name="testLabels"/> equal to it, which is that predictor's accuracy (its balanced
    /// accuracy is 1 / the number of classes present in the test labels).
    /// </summary>
    /// <param name="trainingLabels">Labels the majority class is taken from; at least one.</param>
    /// <param name="testLabels">Labels it is scored on; at least one.</param>
    /// <returns>The majority class and its accuracy and balanced accuracy on <paramref name="testLabels"/>.</returns>
    public static (int MajorityClass, double Accuracy, double BalancedAccuracy) MajorityClassRate(IReadOnlyList<int> trainingLabels, IReadOnlyList<int> testLabels)
    {
        if (trainingLabels.Count == 0) throw new ArgumentException("No training labels to take a majority from.", nameof(trainingLabels));
        if (testLabels.Count == 0) throw new ArgumentException("No test labels to score on.", nameof(testLabels));
        var majority = trainingLabels.GroupBy(l => l).OrderByDescending(g => g.Count()).ThenBy(g => g.Key).First().Key;
        var predicted = testLabels.Select(_ => (long)majority).ToArray();
        var classes = Math.Max(majority, testLabels.Max()) + 1;
        return (majority, ClassificationMetrics.Accuracy(predicted, testLabels), ClassificationMetrics.BalancedAccuracy(predicted, testLabels, classes));
    }
}
