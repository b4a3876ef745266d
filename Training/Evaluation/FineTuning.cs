using FedActors.Training.Objectives;
using FedActors.Training.Data;
using FedActors.Training.Randomness;
using TorchSharp;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace FedActors.Training.Evaluation;

/// <summary>Hyper-parameters of <see cref="FineTuning"/> (AdamW over encoder and head together, a fixed budget of optimiser steps).</summary>
public sealed record FineTuneOptions
{
    /// <summary>
    /// Optimiser steps in all, whatever the size of the labelled set (so 1 % and 100 % of the labels get the same budget);
    /// at least 1. Default 300; config key <c>fedactors.evaluation.fine-tune-steps</c>.
    /// </summary>
    public int Steps { get; init; } = 300;
    /// <summary>Steps between validation checks (the last step is always checked); at least 1. Default 25; config key <c>fedactors.evaluation.fine-tune-validate-every</c>.</summary>
    public int ValidateEvery { get; init; } = 25;
    /// <summary>Images per optimiser step (fewer when the labelled set is smaller), and per batch when predicting. Default 64; config key <c>fedactors.evaluation.fine-tune-batch-size</c>.</summary>
    public int BatchSize { get; init; } = 64;
    /// <summary>AdamW learning rate. Default 1e-3; config key <c>fedactors.evaluation.fine-tune-learning-rate</c>.</summary>
    public double LearningRate { get; init; } = 1e-3;
    /// <summary>AdamW (decoupled) weight decay. Default 1e-4.</summary>
    public double WeightDecay { get; init; } = 1e-4;
}

/// <summary>Held-out figures at the step chosen on validation balanced accuracy (never on a test split).</summary>
/// <param name="SelectedStep">The chosen check's optimiser step count (1 to <paramref name="StepsTaken"/>).</param>
/// <param name="StepsTaken">Optimiser steps taken in all: the budget, <see cref="FineTuneOptions.Steps"/>.</param>
/// <param name="Validation">The validation scores at the chosen step.</param>
/// <param name="Curve">Every validation check, in step order.</param>
/// <param name="Scores">Each held-out split's scores with the chosen step's weights, in the order the splits were given.</param>
public sealed record FineTuneResult(int SelectedStep, int StepsTaken, ValidationPoint Validation, IReadOnlyList<ValidationPoint> Curve, IReadOnlyList<SplitScore> Scores)
{
    /// <summary>The scores on the split named <paramref name="split"/>.</summary>
    /// <exception cref="KeyNotFoundException">No split of that name was scored.</exception>
    public SplitScore On(string split) => Scores.FirstOrDefault(s => s.Split == split) ?? throw new KeyNotFoundException($"no split '{split}' was scored");
}

/// <summary>
/// End-to-end fine-tuning of a pre-trained encoder with a fresh linear head on a labelled set, for a fixed budget of
/// optimiser steps on seeded mini-batches. Every <see cref="FineTuneOptions.ValidateEvery"/> steps both are scored on the
/// validation split; the held-out splits are scored only with the weights of the check chosen by
/// <see cref="ModelSelection.Choose"/> (best validation balanced accuracy).
/// </summary>
public static class FineTuning
{
    /// <summary>
    /// Fine-tunes <paramref name="encoder"/> and a new linear head with cross-entropy for exactly
    /// <see cref="FineTuneOptions.Steps"/> optimiser steps, selects the validation check with the best balanced accuracy
    /// (the earliest on ties) and scores it on each of <paramref name="tests"/>.
    /// </summary>
    /// <param name="encoder">The pre-trained encoder, already on <paramref name="device"/>. It is trained in place and left
    /// holding the selected step's weights, in eval mode; pass a copy to keep the original. The caller still owns it.</param>
    /// <param name="featureDim">Width of the encoder's output features.</param>
    /// <param name="labelled">The labelled training images; at least one.</param>
    /// <param name="validation">The images the step is chosen on; at least one.</param>
    /// <param name="tests">The held-out splits of the reported figures, by name.</param>
    /// <param name="classes">Number of classes; labels lie in [0, <paramref name="classes"/>).</param>
    /// <param name="device">Device training runs on.</param>
    /// <param name="seed">Seeds the head's initialisation and the mini-batch draws.</param>
    /// <param name="options">Hyper-parameters; <see langword="null"/> for the defaults of <see cref="FineTuneOptions"/>.</param>
    /// <exception cref="ArgumentException"><paramref name="labelled"/> or <paramref name="validation"/> is empty.</exception>
    public static FineTuneResult Evaluate(nn.Module<Tensor, Tensor> encoder, int featureDim, ImageShard labelled, ImageShard validation,
        IReadOnlyList<(string Split, ImageShard Images)> tests, int classes, Device device, ulong seed, FineTuneOptions? options = null)
    {
        options ??= new FineTuneOptions();
        if (labelled.Count == 0) throw new ArgumentException("Fine-tuning needs at least one labelled image.", nameof(labelled));
        if (validation.Count == 0) throw new ArgumentException("Fine-tuning needs at least one validation image to choose its step on.", nameof(validation));
        var batches = new MiniBatches(labelled.Count, Math.Min(options.BatchSize, labelled.Count), SeededRandom.Derive(seed, "finetune/order"));
        var head = TorchRuntime.Seeded(SeededRandom.DeriveSeed(seed, "finetune/head"), () => nn.Linear(featureDim, classes));
        head.to(device);
        var parameters = encoder.parameters().Concat(head.parameters()).ToList();
        using var optimizer = Optimizers.AdamW(parameters, options.LearningRate, options.WeightDecay);

        var curve = new List<ValidationPoint>();
        ValidationPoint? best = null;
        ModuleSnapshot? bestEncoder = null, bestHead = null;
        for (var step = 1; step <= options.Steps; step++)
        {
            encoder.train();
            head.train();
            using (var scope = NewDisposeScope())
            {
                var idx = batches.Next();
                var loss = F.cross_entropy(head.forward(encoder.forward(labelled.Images(idx, device))), labelled.LabelTensor(idx, device));
                optimizer.zero_grad();
                loss.backward();
                optimizer.step();
            }
            if (!ModelSelection.IsCheckStep(step, options.Steps, options.ValidateEvery)) continue;
            var predicted = Predict(encoder, head, validation, device, options.BatchSize);
            var point = new ValidationPoint(step, ClassificationMetrics.Accuracy(predicted, validation.Labels),
                ClassificationMetrics.BalancedAccuracy(predicted, validation.Labels, classes));
            curve.Add(point);
            if (best is null || point.BalancedAccuracy > best.BalancedAccuracy) // strictly better: the earliest of ties, as ModelSelection.Choose
            {
                best = point;
                bestEncoder?.Dispose();
                bestHead?.Dispose();
                bestEncoder = ModuleSnapshot.Take(encoder);
                bestHead = ModuleSnapshot.Take(head);
            }
        }
        bestEncoder!.RestoreInto(encoder);
        bestHead!.RestoreInto(head);
        bestEncoder.Dispose();
        bestHead.Dispose();
        var scores = tests.Select(t =>
        {
            var predicted = Predict(encoder, head, t.Images, device, options.BatchSize);
            return new SplitScore(t.Split, ClassificationMetrics.Accuracy(predicted, t.Images.Labels),
                ClassificationMetrics.BalancedAccuracy(predicted, t.Images.Labels, classes));
        }).ToList();
        head.Dispose();
        return new FineTuneResult(best!.Step, options.Steps, best, curve, scores);
    }

    private static long[] Predict(nn.Module<Tensor, Tensor> encoder, nn.Module<Tensor, Tensor> head, ImageShard shard, Device device, int batch)
    {
        encoder.eval();
        head.eval();
        var predicted = new List<long>(shard.Count);
        using var _ = no_grad();
        for (var start = 0; start < shard.Count; start += batch)
        {
            using var scope = NewDisposeScope();
            var idx = Enumerable.Range(start, Math.Min(batch, shard.Count - start)).ToArray();
            predicted.AddRange(head.forward(encoder.forward(shard.Images(idx, device))).argmax(1).cpu().data<long>().ToArray());
        }
        return predicted.ToArray();
    }
}

/// <summary>
/// Mini-batches of a fixed size drawn from a seeded stream of permutations of 0 … count − 1: each pass over the set is a
/// fresh permutation, and a batch may run on from one pass into the next, so every step has the same number of images.
/// </summary>
internal sealed class MiniBatches(int count, int batchSize, SeededRandom rng)
{
    private int[] _order = [];
    private int _next;

    /// <summary>The next batch's indices.</summary>
    public int[] Next()
    {
        var batch = new int[batchSize];
        for (var i = 0; i < batchSize; i++)
        {
            if (_next == _order.Length)
            {
                _order = rng.Permutation(count);
                _next = 0;
            }
            batch[i] = _order[_next++];
        }
        return batch;
    }
}
