using FedActors.Training;
using FedActors.Training.Evaluation;
using FedActors.Training.Experiments;
using FedActors.Training.Weights;

namespace FedActors.Tests.Training.Experiments;

public sealed class LabelEfficiencySpecs
{
    private static readonly FineTuneOptions FineTune = new() { Steps = 6, ValidateEvery = 3, BatchSize = 16 };

    [Fact]
    public void Should_score_the_random_init_baseline_from_the_initial_weights_with_the_same_labels_and_budget()
    {
        var experiment = new FederatedExperiment(TinyExperiment.Settings(hospitals: 2) with { Probe = new LinearProbeOptions { Steps = 20, ValidateEvery = 5 } });
        var initial = experiment.InitialGlobal();
        ModelWeights trained;
        using (var other = TorchRuntime.Seeded(99, experiment.CreateNetwork)) trained = ModelWeights.FromModule(other);

        var both = experiment.EvaluateLabelEfficiency(trained, initial, [0.5], FineTune);
        var initialAlone = experiment.EvaluateLabelEfficiency(initial, null, [0.5], FineTune);
        var trainedAlone = experiment.EvaluateLabelEfficiency(trained, null, [0.5], FineTune);

        Assert.Equal(["majority-class none", "linear-probe final", "fine-tune final", "linear-probe random-init", "fine-tune random-init"],
            both.Select(e => $"{e.Protocol} {e.Encoder}"));
        // The random-init rows are the initial weights' figures, and the final rows the trained weights', row for row.
        Assert.Equal(initialAlone.Where(e => e.Encoder == LabelEfficiency.FinalEncoder).Select(e => e with { Encoder = LabelEfficiency.RandomInitEncoder }),
            both.Where(e => e.Encoder == LabelEfficiency.RandomInitEncoder));
        Assert.Equal(trainedAlone.Where(e => e.Encoder == LabelEfficiency.FinalEncoder), both.Where(e => e.Encoder == LabelEfficiency.FinalEncoder));
        Assert.NotEqual(both[1] with { Encoder = "" }, both[3] with { Encoder = "" }); // different weights, different figures
        // The same labelled images and budgets for both encoders.
        Assert.Single(both.Where(e => e.Protocol != LabelEfficiency.MajorityClass).Select(e => e.Labelled).Distinct());
        Assert.All(both.Where(e => e.Protocol == LabelEfficiency.FineTune), e => Assert.Equal(6, e.StepBudget));
        Assert.All(both.Where(e => e.Protocol == LabelEfficiency.LinearProbe), e => Assert.Equal(20, e.StepBudget));
    }
}
