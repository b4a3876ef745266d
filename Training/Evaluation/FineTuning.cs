using FedActors.Training.Objectives;
using FedActors.Training.Data;
using FedActors.Training.Randomness;
using TorchSharp;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace FedActors.Training.Evaluation;

/// <summary>Hyper-parameters of <see cref="FineTuning"/> (AdamW over encoder and head together).</summary>
public sealed record FineTuneOptions
{
    /// <summary>Passes over the labelled set; at least 1. Default 20; config key <c>fedactors.evaluation.fine-tune-epochs</c>.</summary>
    public int Epochs { get; init; } = 20;
    /// <summary>Images per optimiser step, and per batch when predicting. Default 64.</summary>
    public int BatchSize { get; init; } = 64;
    /// <summary>AdamW learning rate. Default 1e-3; config key <c>fedactors.evaluation.fine-tune-learning-rate</c>.</summary>
    public double LearningRate { get; init; } = 1e-3;
    /// <summary>AdamW (decoupled) weight decay. Default 1e-4.</summary>
    public double WeightDecay { get; init; } = 1e-4;
}

/// <summary>Test figures at the epoch chosen on validation (never on test).</summary>
/// <param name="SelectedEpoch">The chosen epoch, 0-based.</param>
/// <param name="ValidationAccuracy">Validation accuracy at that epoch.</param>
/// <param name="TestAccuracy">Test accuracy with that epoch's weights.</param>
/// <param name="TestBalancedAccuracy">Test balanced accuracy (mean per-class recall) with that epoch's weights.</param>
public sealed record FineTuneResult(int SelectedEpoch, double ValidationAccuracy, double TestAccuracy, double TestBalancedAccuracy);

/// <summary>
/// End-to-end fine-tuning of a pre-trained encoder with a fresh linear head on a labelled
/// set. After each epoch both are scored on the validation split; the test split is scored
/// only with the weights of the best validation epoch.
/// </summary>
public static class FineTuning
{
    /// <summary>
    /// Fine-tunes <paramref name="encoder"/> and a new linear head with cross-entropy, selects the epoch with the best
    /// validation accuracy (the earliest on ties) and scores it on <paramref name="test"/>.
    /// </summary>
    /// <param name="encoder">The pre-trained encoder, already on <paramref name="device"/>. It is trained in place and left
    /// holding the selected epoch's weights, in eval mode; pass a copy to keep the original. The caller still owns it.</param>
    /// <param name="featureDim">Width of the encoder's output features.</param>
    /// <param name="labelled">The labelled training images; at least one.</param>
    /// <param name="validation">The images the epoch is chosen on.</param>
    /// <param name="test">The images of the reported figures.</param>
    /// <param name="classes">Number of classes; labels lie in [0, <paramref name="classes"/>).</param>
    /// <param name="device">Device training runs on.</param>
    /// <param name="seed">Seeds the head's initialisation and the batch order.</param>
    /// <param name="options">Hyper-parameters; <see langword="null"/> for the defaults of <see cref="FineTuneOptions"/>.</param>
    /// <exception cref="ArgumentException"><paramref name="labelled"/> is empty.</exception>
    public static FineTuneResult Evaluate(nn.Module<Tensor, Tensor> encoder, int featureDim, ImageShard labelled, ImageShard validation,
        ImageShard test, int classes, Device device, ulong seed, FineTuneOptions? options = null)
    {
        options ??= new FineTuneOptions();
        if (labelled.Count == 0) throw new ArgumentException("Fine-tuning needs at least one labelled image.", nameof(labelled));
        var rng = SeededRandom.Derive(seed, "finetune/order");
        var head = TorchRuntime.Seeded(SeededRandom.DeriveSeed(seed, "finetune/head"), () => nn.Linear(featureDim, classes));
        head.to(device);
        var parameters = encoder.parameters().Concat(head.parameters()).ToList();
        using var optimizer = Optimizers.AdamW(parameters, options.LearningRate, options.WeightDecay);

        var best = (Epoch: -1, Accuracy: double.NegativeInfinity);
        ModuleSnapshot? bestEncoder = null, bestHead = null;
        for (var epoch = 0; epoch < options.Epochs; epoch++)
        {
            encoder.train();
            head.train();
            var order = rng.Permutation(labelled.Count);
            for (var start = 0; start < order.Length; start += options.BatchSize)
            {
                using var scope = NewDisposeScope();
                var idx = new ArraySegment<int>(order, start, Math.Min(options.BatchSize, order.Length - start));
                var loss = F.cross_entropy(head.forward(encoder.forward(labelled.Images(idx, device))), labelled.LabelTensor(idx, device));
                optimizer.zero_grad();
                loss.backward();
                optimizer.step();
            }
            var accuracy = ClassificationMetrics.Accuracy(Predict(encoder, head, validation, device, options.BatchSize), validation.Labels);
            if (accuracy > best.Accuracy)
            {
                best = (epoch, accuracy);
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
        var predicted = Predict(encoder, head, test, device, options.BatchSize);
        head.Dispose();
        return new FineTuneResult(best.Epoch, best.Accuracy,
            ClassificationMetrics.Accuracy(predicted, test.Labels), ClassificationMetrics.BalancedAccuracy(predicted, test.Labels, classes));
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
