using FedActors.Training.Data;
using FedActors.Training.Evaluation;
using FedActors.Training.Models;
using FedActors.Training.Weights;

namespace FedActors.Tests.Training.Evaluation;

public sealed class ClassifierEvaluationSpecs
{
    private static FedMasModel Model() => FedActors.Training.TorchRuntime.Seeded(1, () => new FedMasModel(ProjectedEncoder.SmallCnn([8, 8, 16, 16], 16, inChannels: 3), classes: 2));

    /// <summary>The model's weights with out_1's bias pushing every image to <paramref name="favoured"/>.</summary>
    private static ModelWeights Favouring(int favoured)
    {
        using var model = Model();
        var weights = ModelWeights.FromModule(model);
        return new ModelWeights(weights.Tensors.Select(t => t.Name == "classifier.fc.bias"
            ? t with { Values = [favoured == 0 ? 100f : -100f, favoured == 1 ? 100f : -100f] }
            : t).ToList());
    }

    private static ImageShard Images(int count, int label) => new(3, 16, 16, new byte[count * 3 * 16 * 16], Enumerable.Repeat(label, count).ToArray());

    [Fact]
    public void Should_choose_the_round_on_validation_and_report_that_rounds_test_figures_never_the_best_test_round()
    {
        // Validation holds class 1 only, test class 0 only: round 2 (predicting 1) is best on validation, round 1 on test.
        var validation = Images(4, label: 1);
        var test = ImageShard.Concat([Images(6, label: 0), Images(2, label: 1)]);
        var sites = new List<(string, ImageShard)> { ("hospital-01", Images(3, label: 0)), ("hospital-02", Images(0, label: 0)) };

        var result = ClassifierEvaluation.Evaluate(Model, [(1, Favouring(0)), (2, Favouring(1))], validation, test, sites, classes: 2, FedActors.Training.TorchRuntime.ParseDevice("cpu"));

        Assert.Equal([0.0, 1.0], result.Rounds.Select(r => r.ValidationBalancedAccuracy));
        Assert.Equal(2, result.Chosen.Round);
        // Everything predicted 1: recall 0 on class 0, 1 on class 1 → balanced 0.5; plain accuracy 2/8.
        Assert.Equal(0.5, result.Chosen.TestBalancedAccuracy);
        Assert.Equal(0.25, result.Chosen.TestAccuracy);
        Assert.Equal(0, result.SiteBalancedAccuracy["hospital-01"]);
        Assert.True(double.IsNaN(result.SiteBalancedAccuracy["hospital-02"]));
    }
}
