using FedActors.Training;
using FedActors.Training.Data;
using FedActors.Training.Evaluation;
using FedActors.Training.Models;
using FedActors.Training.Randomness;
using FedActors.Training.Weights;
using static TorchSharp.torch;

namespace FedActors.Tests.Training.Evaluation;

public sealed class SegmentationEvaluationSpecs
{
    private static readonly SliceShard All = SliceShard.FromVolumes(
        SyntheticCardiacVolumes.Generate(9, 8, 32, ScannerProfile.Identity, new SeededRandom(3)), partitions: 4, size: 32);

    // Hospitals a (volumes 0, 1, 2) and b (3, 4); validation 5, 6; test 7, 8.
    private static readonly List<(string, SliceShard)> Hospitals = [("a", All.OfVolumes([0, 1, 2])), ("b", All.OfVolumes([3, 4]))];

    private static UNetEncoder Encoder() => new(baseWidth: 4, depth: 2);

    private static IReadOnlyList<SegmentationScore> Evaluate(ModelWeights? encoder, params int[] n) =>
        SegmentationEvaluation.Evaluate(encoder, Encoder, SyntheticCardiacVolumes.Classes, Hospitals, All.OfVolumes([5, 6]), All.OfVolumes([7, 8]), CPU, 11,
            new SegmentationEvaluationOptions
            {
                LabelledVolumes = n, FineTune = new SegmentationFineTuneOptions { Epochs = 2, BatchSize = 8, LearningRate = 3e-3 },
                FederatedRounds = 2, FederatedLocalEpochs = 1,
            });

    [Fact]
    public void Should_judge_each_n_locally_per_hospital_and_federated_deterministically()
    {
        var first = Evaluate(null, 1, 2);
        var again = Evaluate(null, 1, 2);

        Assert.Equal([(SegmentationScore.LocalFineTune, 1), (SegmentationScore.FederatedFineTune, 1), (SegmentationScore.LocalFineTune, 2), (SegmentationScore.FederatedFineTune, 2)],
            first.Select(s => (s.Protocol, s.LabelledVolumes)));
        Assert.Equal(first.Select(s => s.Dice), again.Select(s => s.Dice));
        var local = first[0];
        Assert.Equal(["a", "b"], local.PerHospital.Keys.Order());
        // The mean and sample std of the two hospitals' Dice.
        var (da, db) = (local.PerHospital["a"], local.PerHospital["b"]);
        Assert.Equal((da + db) / 2, local.Dice, 12);
        Assert.Equal(Math.Abs(da - db) / Math.Sqrt(2), local.DiceStd, 12);
        Assert.All(first, s => Assert.InRange(s.Dice, 0, 1));
        Assert.True(double.IsNaN(first[1].DiceStd));
    }

    [Fact]
    public void Should_start_the_unet_from_the_given_encoder()
    {
        using var pretrained = TorchRuntime.Seeded(99, Encoder);
        using (no_grad()) foreach (var p in pretrained.parameters()) p.mul_(3);
        var weights = ModelWeights.FromModule(pretrained);

        using var unet = SegmentationEvaluation.NewUNet(weights, Encoder, 4, CPU, 1);
        using var random = SegmentationEvaluation.NewUNet(null, Encoder, 4, CPU, 1);

        Assert.Equal(weights.ContentHash, ModelWeights.FromModule(unet.Encoder).ContentHash);
        Assert.NotEqual(weights.ContentHash, ModelWeights.FromModule(random.Encoder).ContentHash);
        // The decoder is the seed's either way.
        Assert.Equal(ModelWeights.FromModule(random).Tensors.Where(t => t.Name.StartsWith("decoder.")).Select(t => t.Values.Sum()),
            ModelWeights.FromModule(unet).Tensors.Where(t => t.Name.StartsWith("decoder.")).Select(t => t.Values.Sum()));
    }

    [Fact]
    public void Should_report_an_n_a_hospital_lacks_as_skipped_naming_it()
    {
        var scores = Evaluate(null, 3);

        Assert.Equal(2, scores.Count);
        Assert.All(scores, s => Assert.Equal("b has fewer than 3 volumes", s.Skipped));
        Assert.All(scores, s => Assert.True(double.IsNaN(s.Dice)));
    }

    [Fact]
    public void Should_name_the_hospital_whose_slices_carry_no_label_maps()
    {
        var unlabelled = SliceShard.FromVolumes(SyntheticCardiacVolumes.Generate(1, 8, 32, ScannerProfile.Identity, new SeededRandom(4))
            .Select(v => v with { Labels = null }).ToList(), 4, 32);
        var e = Assert.Throws<ArgumentException>(() => SegmentationEvaluation.Evaluate(null, Encoder, 4, [("c", unlabelled)], All.OfVolumes([5]), All.OfVolumes([7]), CPU, 1));
        Assert.Contains("Hospital 'c'", e.Message);
    }

    [Fact]
    public void Should_name_the_hospital_without_an_encoder_of_its_own()
    {
        var own = new Dictionary<string, ModelWeights> { ["a"] = ModelWeights.FromModule(TorchRuntime.Seeded(1, Encoder)) };
        var e = Assert.Throws<ArgumentException>(() => SegmentationEvaluation.Evaluate(null, Encoder, 4, Hospitals, All.OfVolumes([5]), All.OfVolumes([7]), CPU, 1,
            ownEncoders: own));
        Assert.Contains("Hospital 'b'", e.Message);
    }

    [Fact]
    public void Should_pick_the_first_n_volumes_of_a_seeded_order()
    {
        var picked = SegmentationEvaluation.Labelled(Hospitals[0].Item2, 2, new SeededRandom(5));
        Assert.Equal(2, picked.VolumeOf.Distinct().Count());
        Assert.Equal(16, picked.Count);
        Assert.Equal(picked.VolumeOf, SegmentationEvaluation.Labelled(Hospitals[0].Item2, 2, new SeededRandom(5)).VolumeOf);
    }
}
