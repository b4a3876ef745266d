using FedActors.Training.Objectives;
using FedActors.Training.Data;
using FedActors.Training.Randomness;
using TorchSharp;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace FedActors.Training.Evaluation;

/// <summary>Hyper-parameters of <see cref="LinearProbe"/>.</summary>
public sealed record LinearProbeOptions
{
    /// <summary>Full-batch Adam steps on the logistic regression. Default 300; config key <c>fedactors.probe.steps</c>.</summary>
    public int Steps { get; init; } = 300;
    /// <summary>Adam learning rate. Default 0.05; config key <c>fedactors.probe.learning-rate</c>.</summary>
    public double LearningRate { get; init; } = 0.05;
    /// <summary>Adam's L2 weight decay on the linear head. Default 1e-4.</summary>
    public double WeightDecay { get; init; } = 1e-4;
    /// <summary>Images per encoder forward pass when extracting features (memory only; no effect on the result). Default 256.</summary>
    public int FeatureBatchSize { get; init; } = 256;
}

/// <summary>Scores of a linear probe on the held-out split.</summary>
/// <param name="Accuracy">Fraction of test images classified correctly.</param>
/// <param name="BalancedAccuracy">Mean per-class recall over the classes present in the test split.</param>
/// <param name="TrainCount">Labelled images the probe was trained on.</param>
/// <param name="TestCount">Images it was scored on.</param>
public sealed record ProbeResult(double Accuracy, double BalancedAccuracy, int TrainCount, int TestCount);

/// <summary>
/// Linear evaluation of a frozen encoder: features of the labelled images, standardised
/// with the labelled set's statistics, a multinomial logistic regression trained full
/// batch with Adam, accuracy on a held-out split.
/// </summary>
public static class LinearProbe
{
    /// <summary>Trains a linear classifier on the frozen encoder's features of <paramref name="labelled"/> and scores it on <paramref name="test"/>.</summary>
    /// <param name="encoder">The encoder, on <paramref name="device"/>; its weights are not changed, and its train/eval mode is restored.</param>
    /// <param name="labelled">The probe's training images.</param>
    /// <param name="test">The held-out images it is scored on.</param>
    /// <param name="classes">Number of classes; labels lie in [0, <paramref name="classes"/>).</param>
    /// <param name="device">Device features and probe live on.</param>
    /// <param name="seed">Seeds the probe's initialisation.</param>
    /// <param name="options">Hyper-parameters; <see langword="null"/> for the defaults of <see cref="LinearProbeOptions"/>.</param>
    public static ProbeResult Evaluate(nn.Module<Tensor, Tensor> encoder, ImageShard labelled, ImageShard test, int classes,
        Device device, ulong seed, LinearProbeOptions? options = null)
    {
        options ??= new LinearProbeOptions();
        using var scope = NewDisposeScope();
        var trainX = ExtractFeatures(encoder, labelled, device, options.FeatureBatchSize);
        var testX = ExtractFeatures(encoder, test, device, options.FeatureBatchSize);
        var mean = trainX.mean([0], keepdim: true);
        var std = trainX.std(0, keepdim: true) + 1e-6;
        trainX = (trainX - mean) / std;
        testX = (testX - mean) / std;
        var trainY = labelled.LabelTensor(Enumerable.Range(0, labelled.Count).ToArray(), device);

        var head = TorchRuntime.Seeded(seed, () => nn.Linear(trainX.shape[1], classes));
        head.to(device);
        using var optimizer = Optimizers.Adam(head.parameters(), options.LearningRate, options.WeightDecay);
        for (var step = 0; step < options.Steps; step++)
        {
            using var stepScope = NewDisposeScope();
            optimizer.zero_grad();
            F.cross_entropy(head.forward(trainX), trainY).backward();
            optimizer.step();
        }
        using (no_grad())
        {
            var predicted = head.forward(testX).argmax(1).cpu().data<long>().ToArray();
            head.Dispose();
            return new ProbeResult(
                ClassificationMetrics.Accuracy(predicted, test.Labels),
                ClassificationMetrics.BalancedAccuracy(predicted, test.Labels, classes),
                labelled.Count, test.Count);
        }
    }

    /// <summary>
    /// A stratified, seeded subset of <paramref name="pool"/> holding <paramref name="fraction"/> of each class (at least one,
    /// unless <paramref name="atLeastOne"/> is false: a held-out split must not take a class's only image).
    /// </summary>
    public static int[] StratifiedFraction(ImageShard pool, double fraction, SeededRandom rng, bool atLeastOne = true)
    {
        if (fraction <= 0 || fraction > 1) throw new ArgumentOutOfRangeException(nameof(fraction), fraction, "label fraction must be in (0, 1]");
        var chosen = new List<int>();
        foreach (var group in Enumerable.Range(0, pool.Count).GroupBy(i => pool.Labels[i]).OrderBy(g => g.Key))
        {
            var members = group.ToArray();
            rng.Shuffle(members);
            var take = Math.Max(atLeastOne ? 1 : 0, (int)Math.Round(members.Length * fraction));
            chosen.AddRange(members.Take(take));
        }
        chosen.Sort();
        return chosen.ToArray();
    }

    /// <summary>The encoder's outputs for every image of <paramref name="shard"/>, in eval mode and without gradient.</summary>
    /// <param name="encoder">The encoder; its train/eval mode is restored afterwards.</param>
    /// <param name="shard">The images, in order.</param>
    /// <param name="device">Device the images are sent to (the encoder's).</param>
    /// <param name="batchSize">Images per forward pass.</param>
    /// <returns>A [N, D] tensor of features on <paramref name="device"/>, owned by the caller's dispose scope.</returns>
    public static Tensor ExtractFeatures(nn.Module<Tensor, Tensor> encoder, ImageShard shard, Device device, int batchSize)
    {
        using var scope = NewDisposeScope();
        var wasTraining = encoder.training;
        encoder.eval();
        var chunks = new List<Tensor>();
        using (no_grad())
        {
            for (var start = 0; start < shard.Count; start += batchSize)
            {
                var idx = Enumerable.Range(start, Math.Min(batchSize, shard.Count - start)).ToArray();
                chunks.Add(encoder.forward(shard.Images(idx, device)));
            }
        }
        if (wasTraining) encoder.train();
        return cat(chunks, 0).MoveToOuterDisposeScope();
    }
}
