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
    /// <summary>Full-batch Adam steps on the logistic regression, whatever the size of the labelled set; at least 1. Default 300; config key <c>fedactors.probe.steps</c>.</summary>
    public int Steps { get; init; } = 300;
    /// <summary>Steps between validation checks (the last step is always checked); at least 1. Default 25; config key <c>fedactors.probe.validate-every</c>.</summary>
    public int ValidateEvery { get; init; } = 25;
    /// <summary>Adam learning rate. Default 0.05; config key <c>fedactors.probe.learning-rate</c>.</summary>
    public double LearningRate { get; init; } = 0.05;
    /// <summary>Adam's L2 weight decay on the linear head. Default 1e-4.</summary>
    public double WeightDecay { get; init; } = 1e-4;
    /// <summary>Images per encoder forward pass when extracting features (memory only; no effect on the result). Default 256.</summary>
    public int FeatureBatchSize { get; init; } = 256;
}

/// <summary>Scores of a linear probe, at the step chosen on validation balanced accuracy.</summary>
/// <param name="SelectedStep">The chosen check's optimiser step count (1 to <paramref name="StepsTaken"/>).</param>
/// <param name="StepsTaken">Optimiser steps taken in all: the budget, <see cref="LinearProbeOptions.Steps"/>.</param>
/// <param name="Validation">The validation scores at the chosen step.</param>
/// <param name="Curve">Every validation check, in step order.</param>
/// <param name="Scores">Each held-out split's scores with the chosen step's head, in the order the splits were given; at least one.</param>
/// <param name="TrainCount">Labelled images the probe was trained on.</param>
public sealed record ProbeResult(int SelectedStep, int StepsTaken, ValidationPoint Validation, IReadOnlyList<ValidationPoint> Curve, IReadOnlyList<SplitScore> Scores, int TrainCount)
{
    /// <summary>Accuracy on the first held-out split given (the test split).</summary>
    public double Accuracy => Scores[0].Accuracy;

    /// <summary>Balanced accuracy (mean per-class recall over the classes present) on the first held-out split given.</summary>
    public double BalancedAccuracy => Scores[0].BalancedAccuracy;

    /// <summary>The scores on the split named <paramref name="split"/>.</summary>
    /// <exception cref="KeyNotFoundException">No split of that name was scored.</exception>
    public SplitScore On(string split) => Scores.FirstOrDefault(s => s.Split == split) ?? throw new KeyNotFoundException($"no split '{split}' was scored");
}

/// <summary>
/// Linear evaluation of a frozen encoder: features of the labelled images, standardised with the labelled set's
/// statistics, a multinomial logistic regression trained full batch with Adam for a fixed number of steps, the step
/// chosen on validation balanced accuracy (<see cref="ModelSelection.Choose"/>), scores on held-out splits.
/// </summary>
public static class LinearProbe
{
    /// <summary>
    /// Trains a linear classifier on the frozen encoder's features of <paramref name="labelled"/> for exactly
    /// <see cref="LinearProbeOptions.Steps"/> full-batch steps, keeps the head of the validation check with the best balanced
    /// accuracy (the earliest on ties) and scores it on each of <paramref name="tests"/>.
    /// </summary>
    /// <param name="encoder">The encoder, on <paramref name="device"/>; its weights are not changed, and its train/eval mode is restored.</param>
    /// <param name="labelled">The probe's training images; at least one.</param>
    /// <param name="validation">The images the step is chosen on; at least one.</param>
    /// <param name="tests">The held-out splits it is scored on, by name; at least one.</param>
    /// <param name="classes">Number of classes; labels lie in [0, <paramref name="classes"/>).</param>
    /// <param name="device">Device features and probe live on.</param>
    /// <param name="seed">Seeds the probe's initialisation.</param>
    /// <param name="options">Hyper-parameters; <see langword="null"/> for the defaults of <see cref="LinearProbeOptions"/>.</param>
    /// <exception cref="ArgumentException">A set is empty, or no test split is given.</exception>
    public static ProbeResult Evaluate(nn.Module<Tensor, Tensor> encoder, ImageShard labelled, ImageShard validation,
        IReadOnlyList<(string Split, ImageShard Images)> tests, int classes, Device device, ulong seed, LinearProbeOptions? options = null)
    {
        options ??= new LinearProbeOptions();
        if (labelled.Count == 0) throw new ArgumentException("The probe needs at least one labelled image.", nameof(labelled));
        if (validation.Count == 0) throw new ArgumentException("The probe needs at least one validation image to choose its step on.", nameof(validation));
        if (tests.Count == 0) throw new ArgumentException("The probe needs a split to score on.", nameof(tests));
        using var scope = NewDisposeScope();
        var trainX = ExtractFeatures(encoder, labelled, device, options.FeatureBatchSize);
        var mean = trainX.mean([0], keepdim: true);
        var std = trainX.std(0, keepdim: true) + 1e-6;
        Tensor Standardised(ImageShard shard) => (ExtractFeatures(encoder, shard, device, options.FeatureBatchSize) - mean) / std;
        trainX = (trainX - mean) / std;
        var validationX = Standardised(validation);
        var testX = tests.Select(t => Standardised(t.Images)).ToList();
        var trainY = labelled.LabelTensor(Enumerable.Range(0, labelled.Count).ToArray(), device);

        var head = TorchRuntime.Seeded(seed, () => nn.Linear(trainX.shape[1], classes));
        head.to(device);
        long[] Predict(Tensor x)
        {
            using var _ = no_grad();
            return head.forward(x).argmax(1).cpu().data<long>().ToArray();
        }
        using var optimizer = Optimizers.Adam(head.parameters(), options.LearningRate, options.WeightDecay);
        var curve = new List<ValidationPoint>();
        ValidationPoint? best = null;
        ModuleSnapshot? bestHead = null;
        for (var step = 1; step <= options.Steps; step++)
        {
            using (var stepScope = NewDisposeScope())
            {
                optimizer.zero_grad();
                F.cross_entropy(head.forward(trainX), trainY).backward();
                optimizer.step();
            }
            if (!ModelSelection.IsCheckStep(step, options.Steps, options.ValidateEvery)) continue;
            var predicted = Predict(validationX);
            var point = new ValidationPoint(step, ClassificationMetrics.Accuracy(predicted, validation.Labels),
                ClassificationMetrics.BalancedAccuracy(predicted, validation.Labels, classes));
            curve.Add(point);
            if (best is not null && point.BalancedAccuracy <= best.BalancedAccuracy) continue; // the earliest of ties, as ModelSelection.Choose
            best = point;
            bestHead?.Dispose();
            bestHead = ModuleSnapshot.Take(head);
        }
        bestHead!.RestoreInto(head);
        bestHead.Dispose();
        var scores = tests.Select((t, i) =>
        {
            var predicted = Predict(testX[i]);
            return new SplitScore(t.Split, ClassificationMetrics.Accuracy(predicted, t.Images.Labels),
                ClassificationMetrics.BalancedAccuracy(predicted, t.Images.Labels, classes));
        }).ToList();
        head.Dispose();
        return new ProbeResult(best!.Step, options.Steps, best, curve, scores, labelled.Count);
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
