using FedActors.Training;
using FedActors.Training.Augmentations;
using FedActors.Training.Experiments;
using FedActors.Training.Methods.Fcl;
using FedActors.Training.Objectives;
using FedActors.Training.Randomness;
using static TorchSharp.torch;

namespace FedActors.Tests.Training.Methods;

/// <summary>
/// Which features an FCL client exchanges (issue 23): by default computed as its local keys are (key encoder in
/// training mode on augmented views), so remote and local features are compared on the same footing; the
/// option <c>fcl.exchange-view = eval-clean</c> keeps the former evaluation-mode, un-augmented features.
/// Each expectation is computed here on an independent copy of the key encoder.
/// </summary>
public sealed class FclExchangeViewSpecs
{
    private static readonly FederatedExperiment Experiment = new(TinyExperiment.Volumetric(hospitals: 2));
    private static string Hospital => Experiment.Sites.Sites[0].HospitalId;
    private static FedActors.Training.Data.ImageShard Shard => Experiment.Sites.Sites[0].Train;
    private const int Rows = 6; // under the training batch size (8): one batch

    /// <summary>The learner's own generator as it stands before any draw (FclMethod seeds it so).</summary>
    private static SeededRandom FreshLearnerGenerator() =>
        SeededRandom.Derive(SeededRandom.DeriveSeed(Experiment.Settings.Seed, $"{Hospital}/learner"), "fcl");

    /// <summary>The key encoder's features of the slices the learner's first draw chooses, in training mode on augmented views or in evaluation mode on the slices.</summary>
    private static float[] Expected(bool trainingModeOnAugmentedViews)
    {
        var rng = FreshLearnerGenerator();
        var chosen = rng.Permutation(Shard.Count).Take(Rows).ToArray();
        using var key = TorchRuntime.Seeded(99, Experiment.CreateNetwork);
        Experiment.InitialGlobal().LoadInto(key); // the key encoder is the round's global when the round starts
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        var images = Shard.Images(chosen, CPU);
        if (trainingModeOnAugmentedViews) key.train(); else key.eval();
        var input = trainingModeOnAugmentedViews ? new ViewAugmenter(Experiment.Settings.Augmentation).Augment(images, rng) : images;
        return key.forward(input).contiguous().data<float>().ToArray();
    }

    private static float[] Exchanged(FclOptions options)
    {
        using var learner = FclMethod.CreateLearner(Experiment, options, Hospital);
        learner.LoadGlobal(Experiment.InitialGlobal());
        var (values, partitions) = learner.ExchangeFeatures(Shard);
        Assert.Equal(Rows, partitions.Length);
        return values;
    }

    private static void Close(float[] expected, float[] actual)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (var i = 0; i < expected.Length; i++) Assert.Equal(expected[i], actual[i], 4);
    }

    [Fact]
    public void Should_exchange_by_default_the_features_its_local_keys_would_be_training_mode_on_augmented_views()
    {
        var aligned = Exchanged(new FclOptions { ExchangeSize = Rows });
        Close(Expected(trainingModeOnAugmentedViews: true), aligned);
        // And not the evaluation-mode features of the bare slices: the spec tells the two apart.
        Assert.NotEqual(Expected(trainingModeOnAugmentedViews: false), aligned);
    }

    [Fact]
    public void Should_exchange_evaluation_mode_features_of_the_bare_slices_when_the_option_says_eval_clean()
    {
        var clean = Exchanged(new FclOptions { ExchangeSize = Rows, ExchangeView = FclExchangeView.EvalClean });
        Close(Expected(trainingModeOnAugmentedViews: false), clean);
        Assert.NotEqual(Expected(trainingModeOnAugmentedViews: true), clean);
    }

    [Theory]
    [InlineData(null, FclExchangeView.Aligned)]
    [InlineData("aligned", FclExchangeView.Aligned)]
    [InlineData("eval-clean", FclExchangeView.EvalClean)]
    public void Should_read_the_exchange_view_from_the_method_config(string? value, FclExchangeView expected)
    {
        Assert.Contains(FclMethod.ExchangeView, FclMethod.Registration.Keys);
        Assert.DoesNotContain(FclMethod.ExchangeView, LocalClMethod.Registration.Keys); // Local CL exchanges nothing
        Assert.Equal(expected, FclMethod.ViewOf(value ?? FclMethod.ExchangeView.Default));
    }
}
