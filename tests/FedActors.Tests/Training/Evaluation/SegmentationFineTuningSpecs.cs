using FedActors.Training;
using FedActors.Training.Data;
using FedActors.Training.Evaluation;
using FedActors.Training.Models;
using FedActors.Training.Randomness;
using static TorchSharp.torch;

namespace FedActors.Tests.Training.Evaluation;

public class SegmentationFineTuningSpecs
{
    [Fact]
    public void Should_give_a_small_loss_for_confident_correct_logits_and_a_large_one_for_wrong()
    {
        using var masks = tensor(new long[] { 0, 1, 2, 1 }, [1, 2, 2]);
        using var right = nn.functional.one_hot(masks, 3).permute(0, 3, 1, 2).to_type(ScalarType.Float32) * 20;
        using var wrong = nn.functional.one_hot((masks + 1) % 3, 3).permute(0, 3, 1, 2).to_type(ScalarType.Float32) * 20;
        using var good = SegmentationFineTuning.Loss(right, masks, 3);
        using var bad = SegmentationFineTuning.Loss(wrong, masks, 3);
        Assert.True(good.item<float>() < 0.05, $"loss {good.item<float>()} for perfect logits");
        Assert.True(bad.item<float>() > 10, $"loss {bad.item<float>()} for wrong logits");
    }

    [Fact]
    public void Should_learn_to_segment_synthetic_ventricles_from_four_volumes()
    {
        var volumes = SyntheticCardiacVolumes.Generate(8, 8, 32, ScannerProfile.Identity, new SeededRandom(3));
        var slices = SliceShard.FromVolumes(volumes, partitions: 4, size: 32);
        using var model = TorchRuntime.Seeded(1, () => new UNet2D(new UNetEncoder(baseWidth: 8, depth: 2), SyntheticCardiacVolumes.Classes));
        var result = SegmentationFineTuning.Evaluate(model, slices.OfVolumes([0, 1, 2, 3]), slices.OfVolumes([4, 5]), slices.OfVolumes([6, 7]),
            CPU, 5, new SegmentationFineTuneOptions { Epochs = 8, BatchSize = 8, LearningRate = 3e-3 });

        Assert.InRange(result.SelectedEpoch, 0, 7);
        Assert.Equal(3, result.TestDicePerClass.Length);
        Assert.True(result.TestDice > 0.5, $"test Dice {result.TestDice:F3} after fine-tuning");
    }
}
