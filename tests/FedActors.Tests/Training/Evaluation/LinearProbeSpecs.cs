using FedActors.Training;
using FedActors.Training.Data;
using FedActors.Training.Evaluation;
using FedActors.Training.Models;
using FedActors.Training.Randomness;
using static TorchSharp.torch;

namespace FedActors.Tests.Training.Evaluation;

public class LinearProbeSpecs
{
    private static ImageShard Images(int count, ulong seed) =>
        SyntheticChestRadiographs.Generate(count, 16, ScannerProfile.Identity, new SeededRandom(seed), classes: 2);

    private static ProbeResult Run(LinearProbeOptions options)
    {
        using var encoder = TorchRuntime.Seeded(1, () => new SmallCnnEncoder([8, 8, 16, 16]));
        return LinearProbe.Evaluate(encoder, Images(80, 1), Images(40, 2), [(EvaluationSplits.Test, Images(50, 3)), (EvaluationSplits.TestShifted, Images(30, 4))],
            2, CPU, 5, options);
    }

    [Fact]
    public void Should_take_exactly_the_step_budget_and_keep_the_check_of_best_validation_balanced_accuracy()
    {
        var result = Run(new LinearProbeOptions { Steps = 37, ValidateEvery = 10 });

        Assert.Equal(37, result.StepsTaken);
        Assert.Equal([10, 20, 30, 37], result.Curve.Select(p => p.Step));
        Assert.Equal(ModelSelection.Choose(result.Curve), result.Validation);
        Assert.Equal(result.Validation.Step, result.SelectedStep);
        Assert.Equal([EvaluationSplits.Test, EvaluationSplits.TestShifted], result.Scores.Select(s => s.Split));
        Assert.Equal(result.Scores[0].Accuracy, result.Accuracy);
        Assert.Equal(result, Run(new LinearProbeOptions { Steps = 37, ValidateEvery = 10 }) with { Curve = result.Curve, Scores = result.Scores });
        Assert.Equal(result.Scores, Run(new LinearProbeOptions { Steps = 37, ValidateEvery = 10 }).Scores);
    }
}

public class ModelSelectionSpecs
{
    [Fact]
    public void Should_compute_the_majority_class_rate_from_the_labels()
    {
        // Training labels: class 1 is the most frequent (3 of 6). Test labels: 3 of 5 are class 1, so always
        // predicting 1 scores accuracy 3/5; recalls are 0 (class 0), 1 (class 1), 0 (class 2): balanced 1/3.
        var (majority, accuracy, balanced) = ModelSelection.MajorityClassRate([0, 1, 1, 2, 1, 0], [1, 0, 1, 1, 2]);

        Assert.Equal(1, majority);
        Assert.Equal(0.6, accuracy, 12);
        Assert.Equal(1.0 / 3, balanced, 12);
    }

    [Fact]
    public void Should_take_the_smallest_class_on_a_tie_and_give_a_binary_balanced_accuracy_of_one_half()
    {
        // PneumoniaMNIST's test split: 234 normal, 390 pneumonia; a training majority of pneumonia scores 390/624 = 0.625.
        var test = Enumerable.Repeat(0, 234).Concat(Enumerable.Repeat(1, 390)).ToArray();
        Assert.Equal((1, 0.625, 0.5), ModelSelection.MajorityClassRate([0, 1, 1], test));
        Assert.Equal(0, ModelSelection.MajorityClassRate([1, 0, 0, 1], test).MajorityClass);
    }

    [Fact]
    public void Should_check_every_k_steps_and_at_the_last()
    {
        Assert.Equal([10, 20, 30, 37], Enumerable.Range(1, 37).Where(s => ModelSelection.IsCheckStep(s, 37, 10)));
        Assert.Equal([5], Enumerable.Range(1, 5).Where(s => ModelSelection.IsCheckStep(s, 5, 25)));
    }
}
