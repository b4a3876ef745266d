using FedActors.Training;
using FedActors.Training.Data;
using FedActors.Training.Evaluation;
using FedActors.Training.Models;
using FedActors.Training.Randomness;
using TorchSharp;
using static TorchSharp.torch;

namespace FedActors.Tests.Training.Evaluation;

public class FineTuningSpecs
{
    private static ImageShard Images(int count, ulong seed) =>
        SyntheticChestRadiographs.Generate(count, 16, ScannerProfile.Identity, new SeededRandom(seed), classes: 2);

    /// <summary>Keeps every image of class 0 and one in <paramref name="keepOneIn"/> of class 1: an imbalanced set.</summary>
    private static ImageShard Imbalanced(ImageShard shard, int keepOneIn)
    {
        var ones = 0;
        return shard.Subset(Enumerable.Range(0, shard.Count).Where(i => shard.Labels[i] == 0 || ones++ % keepOneIn == 0).ToArray());
    }

    /// <summary>An encoder that counts its forward passes in train mode: fine-tuning makes exactly one per optimiser step.</summary>
    private sealed class CountingEncoder : nn.Module<Tensor, Tensor>
    {
        private readonly SmallCnnEncoder inner;
        public int TrainingForwards { get; private set; }

        public CountingEncoder() : base(nameof(CountingEncoder))
        {
            inner = TorchRuntime.Seeded(1, () => new SmallCnnEncoder([8, 8, 16, 16]));
            RegisterComponents();
        }

        public int FeatureDim => inner.FeatureDim;

        public override Tensor forward(Tensor input)
        {
            if (training) TrainingForwards++;
            return inner.forward(input);
        }
    }

    private static FineTuneResult Run(FineTuneOptions options, CountingEncoder? counting = null)
    {
        using var fresh = TorchRuntime.Seeded(1, () => new SmallCnnEncoder([8, 8, 16, 16]));
        nn.Module<Tensor, Tensor> encoder = counting is null ? fresh : counting;
        return FineTuning.Evaluate(encoder, fresh.FeatureDim, Images(160, 1), Imbalanced(Images(96, 2), 3), [(EvaluationSplits.Test, Images(64, 3))], 2, CPU, 9, options);
    }

    [Fact]
    public void Should_take_exactly_the_step_budget_and_validate_every_k_steps_and_at_the_last()
    {
        using var encoder = new CountingEncoder();
        var result = Run(new FineTuneOptions { Steps = 37, ValidateEvery = 10, BatchSize = 32, LearningRate = 3e-3 }, encoder);

        Assert.Equal(37, encoder.TrainingForwards); // one training forward per optimiser step, none more
        Assert.Equal(37, result.StepsTaken);
        Assert.Equal([10, 20, 30, 37], result.Curve.Select(p => p.Step));
        Assert.Contains(result.SelectedStep, new[] { 10, 20, 30, 37 });
    }

    [Fact]
    public void Should_report_the_check_of_best_validation_balanced_accuracy_reproducibly()
    {
        var options = new FineTuneOptions { Steps = 60, ValidateEvery = 5, BatchSize = 32, LearningRate = 3e-3 };
        var result = Run(options);

        Assert.Equal(ModelSelection.Choose(result.Curve), result.Validation);
        Assert.Equal(result.Validation.Step, result.SelectedStep);
        Assert.Equal(result.Curve.Max(p => p.BalancedAccuracy), result.Validation.BalancedAccuracy);
        var again = Run(options);
        Assert.Equal(result.Curve, again.Curve);
        Assert.Equal(result.Scores, again.Scores);
    }

    [Fact]
    public void Should_choose_on_balanced_accuracy_where_accuracy_would_choose_another_step()
    {
        // Validation of 9 normals and 1 abnormal; each step's predictions, scored as fine-tuning scores them.
        int[] truth = [0, 0, 0, 0, 0, 0, 0, 0, 0, 1];
        long[][] predictions =
        [
            [0, 0, 0, 0, 0, 0, 0, 0, 0, 0], // step 10, all normal: accuracy 0.9, balanced (1 + 0) / 2 = 0.5
            [0, 0, 0, 0, 0, 0, 0, 1, 1, 1], // step 20: 7/9 and 1/1: accuracy 0.8, balanced (7/9 + 1) / 2 = 0.889
            [0, 0, 0, 0, 0, 0, 0, 0, 1, 0], // step 30: 8/9 and 0/1: accuracy 0.8, balanced 0.444
            [0, 0, 0, 0, 0, 1, 1, 0, 0, 1], // step 40: 7/9 and 1/1 again: a tie with step 20, the earlier is kept
        ];
        var curve = predictions.Select((p, i) => new ValidationPoint(10 * (i + 1), ClassificationMetrics.Accuracy(p, truth),
            ClassificationMetrics.BalancedAccuracy(p, truth, 2))).ToList();
        Assert.Equal([0.9, 0.8, 0.8, 0.8], curve.Select(p => Math.Round(p.Accuracy, 12)));
        Assert.Equal([0.5, 0.888889, 0.444444, 0.888889], curve.Select(p => Math.Round(p.BalancedAccuracy, 6)));
        Assert.Equal(10, curve.OrderByDescending(p => p.Accuracy).First().Step);
        Assert.Equal(20, ModelSelection.Choose(curve).Step);
    }

    /// <summary>
    /// 16×16 noise images (20–100) with a brighter 3-row bar (120–160), low (rows 10–12) for class 0 and high (rows 3–5) for
    /// class 1, three of class 0 to one of class 1: separable by structure alone (both classes have the same mean intensity).
    /// </summary>
    private static ImageShard Bars(int count, ulong seed)
    {
        var rng = new SeededRandom(seed);
        var labels = Enumerable.Range(0, count).Select(i => i % 4 == 3 ? 1 : 0).ToArray();
        var pixels = new byte[count * 256];
        for (var n = 0; n < count; n++)
        {
            var top = labels[n] == 1 ? 3 : 10;
            for (var y = 0; y < 16; y++)
            for (var x = 0; x < 16; x++)
                pixels[n * 256 + y * 16 + x] = (byte)(y >= top && y < top + 3 ? 120 + rng.Uniform(0, 40) : rng.Uniform(20, 100));
        }
        return new ImageShard(16, 16, pixels, labels);
    }

    [Fact]
    public void Should_leave_the_majority_floor_with_ten_percent_of_the_labels_of_an_imbalanced_separable_set()
    {
        // 3 of class 0 to 1 of class 1, 10 % of the labels (stratified): the majority-class rate is 0.75 accuracy, 0.5 balanced.
        var pool = Bars(400, 11);
        var labelled = pool.Subset(LinearProbe.StratifiedFraction(pool, 0.1, new SeededRandom(12)));
        var test = Bars(160, 13);
        var majority = ModelSelection.MajorityClassRate(labelled.Labels, test.Labels);
        using var encoder = TorchRuntime.Seeded(1, () => new SmallCnnEncoder([8, 8, 16, 16]));

        var result = FineTuning.Evaluate(encoder, encoder.FeatureDim, labelled, Bars(80, 14), [(EvaluationSplits.Test, test)], 2, CPU, 9,
            new FineTuneOptions { Steps = 100, ValidateEvery = 10 });

        Assert.Equal(40, labelled.Count);
        Assert.Equal((0, 0.75, 0.5), majority);
        var score = result.On(EvaluationSplits.Test);
        // With a budget of 10 steps (about what 1 % of the labels used to get) this set reaches 0.787; 100 steps separate it.
        Assert.True(score.BalancedAccuracy > 0.95, $"fine-tuned balanced accuracy {score.BalancedAccuracy:F3}: not separated (majority floor 0.5)");
        Assert.True(score.Accuracy > majority.Accuracy, $"fine-tuned accuracy {score.Accuracy:F3} not above the majority rate {majority.Accuracy:F3}");
    }
}
