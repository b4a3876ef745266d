using FedActors.Training;
using FedActors.Training.Data;
using FedActors.Training.Evaluation;
using FedActors.Training.Models;
using FedActors.Training.Randomness;
using static TorchSharp.torch;

namespace FedActors.Tests.Training.Evaluation;

public class FineTuningSpecs
{
    private static ImageShard Images(int count, ulong seed) =>
        SyntheticChestRadiographs.Generate(count, 16, ScannerProfile.Identity, new SeededRandom(seed), classes: 2);

    private static FineTuneResult Run()
    {
        using var encoder = TorchRuntime.Seeded(1, () => new SmallCnnEncoder([8, 8, 16, 16]));
        return FineTuning.Evaluate(encoder, encoder.FeatureDim, Images(160, 1), Images(48, 2), Images(64, 3), 2, CPU, 9,
            new FineTuneOptions { Epochs = 6, BatchSize = 32, LearningRate = 3e-3 });
    }

    [Fact]
    public void Should_learn_above_chance_and_report_the_validation_chosen_epoch_reproducibly()
    {
        var result = Run();
        Assert.InRange(result.SelectedEpoch, 0, 5);
        Assert.True(result.TestAccuracy > 0.6, $"fine-tuned test accuracy {result.TestAccuracy:F3} is near chance (0.5)");
        Assert.Equal(result, Run());
    }
}
