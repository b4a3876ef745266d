using FedActors.Training.Evaluation;
using static TorchSharp.torch;

namespace FedActors.Tests.Training.Evaluation;

public class MetricSpecs
{
    [Fact]
    public void Should_compute_roc_auc_by_hand_including_ties()
    {
        // Positives 0.8, 0.4; negatives 0.4, 0.1. Pairs: (0.8>0.4) 1, (0.8>0.1) 1, (0.4=0.4) ½, (0.4>0.1) 1 → 3.5/4.
        Assert.Equal(0.875, ClassificationMetrics.RocAuc([0.8, 0.4, 0.4, 0.1], [true, true, false, false]), 12);
        Assert.Equal(0.0, ClassificationMetrics.RocAuc([0.1, 0.9], [true, false]), 12);
        Assert.Throws<ArgumentException>(() => ClassificationMetrics.RocAuc([0.1, 0.9], [true, true]));
    }

    [Fact]
    public void Should_average_one_vs_rest_auc_over_classes()
    {
        // Perfectly ranked 3-class probabilities → every one-vs-rest AUC is 1.
        double[] probs = [0.8, 0.1, 0.1, 0.1, 0.8, 0.1, 0.1, 0.1, 0.8];
        Assert.Equal(1.0, ClassificationMetrics.MacroRocAuc(probs, [0, 1, 2], 3), 12);
    }

    [Fact]
    public void Should_compute_balanced_accuracy_as_mean_recall()
    {
        // Class 0: 3 of 4 right; class 1: 0 of 1 → (0.75 + 0) / 2.
        Assert.Equal(0.375, ClassificationMetrics.BalancedAccuracy([0, 0, 0, 1, 0], [0, 0, 0, 0, 1], 2), 12);
    }

    [Fact]
    public void Should_compute_dice_per_foreground_class_by_hand()
    {
        byte[] truth = [0, 1, 1, 2, 2, 0];
        byte[] pred = [0, 1, 0, 2, 2, 2];
        var dice = SegmentationMetrics.DicePerClass(pred, truth, 4);
        Assert.Equal(2.0 * 1 / (1 + 2), dice[0], 12); // class 1
        Assert.Equal(2.0 * 2 / (3 + 2), dice[1], 12); // class 2
        Assert.True(double.IsNaN(dice[2]));            // class 3 absent everywhere
        Assert.Equal((2.0 / 3 + 0.8) / 2, SegmentationMetrics.MeanForegroundDice(pred, truth, 4), 12);
    }

    [Fact]
    public void Should_classify_by_weighted_nearest_neighbours()
    {
        using var bank = tensor(new float[] { 1, 0, 0.9f, 0.1f, 0, 1, 0.1f, 0.9f }, [4, 2]);
        using var queries = tensor(new float[] { 0.95f, 0.05f, 0.2f, 0.8f }, [2, 2]);
        Assert.Equal([0L, 1L], KnnClassifier.Predict(bank, [0, 0, 1, 1], queries, 2, k: 2));
        Assert.Equal(1.0, KnnClassifier.Accuracy(bank, [0, 0, 1, 1], queries, [0, 1], 2, k: 3));
    }
}
