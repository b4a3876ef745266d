using FedActors.Training.Objectives;
using FedActors.Training.Data;
using FedActors.Training.Models;
using FedActors.Training.Randomness;
using TorchSharp;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace FedActors.Training.Evaluation;

/// <summary>Hyper-parameters of <see cref="SegmentationFineTuning"/> (AdamW over the whole U-Net).</summary>
public sealed record SegmentationFineTuneOptions
{
    /// <summary>Passes over the labelled slices; at least 1. Default 30 (10 within <see cref="SegmentationEvaluationOptions"/>);
    /// config key <c>fedactors.evaluation.segmentation.epochs</c>.</summary>
    public int Epochs { get; init; } = 30;
    /// <summary>Slices per optimiser step and per prediction batch. Default 16; config key <c>fedactors.evaluation.segmentation.batch-size</c>.</summary>
    public int BatchSize { get; init; } = 16;
    /// <summary>AdamW learning rate. Default 1e-3; config key <c>fedactors.evaluation.segmentation.learning-rate</c>.</summary>
    public double LearningRate { get; init; } = 1e-3;
    /// <summary>AdamW (decoupled) weight decay. Default 1e-4.</summary>
    public double WeightDecay { get; init; } = 1e-4;
}

/// <summary>Held-out Dice at the epoch chosen on validation volumes.</summary>
/// <param name="SelectedEpoch">The chosen epoch, 0-based.</param>
/// <param name="ValidationDice">Mean volume Dice on the validation slices at that epoch.</param>
/// <param name="TestDice">Mean volume Dice on the test slices with that epoch's weights.</param>
/// <param name="TestDicePerClass">Test Dice of each foreground class, averaged over the volumes where it occurs: entry c is class c + 1 (NaN if it never occurs).</param>
public sealed record SegmentationResult(int SelectedEpoch, double ValidationDice, double TestDice, double[] TestDicePerClass);

/// <summary>
/// Fine-tunes a U-Net (its encoder typically initialised from self-supervised pre-training)
/// on the labelled slices of a few volumes with cross-entropy + soft Dice. Dice is computed
/// per held-out volume over all its slices (3D), averaged over foreground classes, then over
/// volumes; the reported epoch is the one best on the validation volumes.
/// </summary>
public static class SegmentationFineTuning
{
    /// <summary>Fine-tunes <paramref name="model"/> for <see cref="SegmentationFineTuneOptions.Epochs"/> epochs and reports the best validation epoch's Dice.</summary>
    /// <param name="model">The U-Net, on <paramref name="device"/>. It is trained in place and left holding the selected epoch's
    /// weights; the caller owns and disposes it.</param>
    /// <param name="train">Labelled slices (with label maps); at least one.</param>
    /// <param name="validation">Slices of the volumes the epoch is chosen on.</param>
    /// <param name="test">Slices of the volumes the reported Dice is measured on.</param>
    /// <param name="device">Device training runs on.</param>
    /// <param name="seed">Seeds the batch order.</param>
    /// <param name="options">Hyper-parameters; <see langword="null"/> for the defaults of <see cref="SegmentationFineTuneOptions"/>.</param>
    /// <exception cref="ArgumentException"><paramref name="train"/> is empty.</exception>
    public static SegmentationResult Evaluate(UNet2D model, SliceShard train, SliceShard validation, SliceShard test,
        Device device, ulong seed, SegmentationFineTuneOptions? options = null)
    {
        options ??= new SegmentationFineTuneOptions();
        if (train.Count == 0) throw new ArgumentException("Segmentation fine-tuning needs at least one labelled slice.", nameof(train));
        var rng = SeededRandom.Derive(seed, "segmentation/order");
        using var optimizer = Optimizers.AdamW(model.parameters(), options.LearningRate, options.WeightDecay);
        var best = (Epoch: -1, Dice: double.NegativeInfinity);
        ModuleSnapshot? bestState = null;
        for (var epoch = 0; epoch < options.Epochs; epoch++)
        {
            TrainEpoch(model, optimizer, train, device, options.BatchSize, rng);
            var dice = MeanVolumeDice(model, validation, device, options.BatchSize).Mean;
            if (dice > best.Dice)
            {
                best = (epoch, dice);
                bestState?.Dispose();
                bestState = ModuleSnapshot.Take(model);
            }
        }
        bestState!.RestoreInto(model);
        bestState.Dispose();
        var (testDice, perClass) = MeanVolumeDice(model, test, device, options.BatchSize);
        return new SegmentationResult(best.Epoch, best.Dice, testDice, perClass);
    }

    /// <summary>One pass over <paramref name="train"/>'s labelled slices in a seeded order.</summary>
    public static void TrainEpoch(UNet2D model, optim.Optimizer optimizer, SliceShard train, Device device, int batchSize, SeededRandom rng)
    {
        model.train();
        var order = rng.Permutation(train.Count);
        for (var start = 0; start < order.Length; start += batchSize)
        {
            using var scope = NewDisposeScope();
            var idx = new ArraySegment<int>(order, start, Math.Min(batchSize, order.Length - start));
            var logits = model.forward(train.Images.Images(idx, device));
            var loss = Loss(logits, train.MaskTensor(idx, device), model.Classes);
            optimizer.zero_grad();
            loss.backward();
            optimizer.step();
        }
    }

    /// <summary>Cross-entropy plus (1 − soft Dice over foreground classes).</summary>
    public static Tensor Loss(Tensor logits, Tensor masks, int classes)
    {
        using var scope = NewDisposeScope();
        var ce = F.cross_entropy(logits, masks);
        var probabilities = F.softmax(logits, 1).narrow(1, 1, classes - 1);
        var truth = F.one_hot(masks, classes).permute(0, 3, 1, 2).to_type(ScalarType.Float32).narrow(1, 1, classes - 1);
        var intersection = (probabilities * truth).sum([0, 2, 3]);
        var denominator = probabilities.sum([0, 2, 3]) + truth.sum([0, 2, 3]);
        var softDice = ((2 * intersection + 1) / (denominator + 1)).mean();
        return (ce + 1 - softDice).MoveToOuterDisposeScope();
    }

    /// <summary>Per-volume 3D Dice (mean over foreground classes present), averaged over volumes; and per class averaged over volumes.</summary>
    public static (double Mean, double[] PerClass) MeanVolumeDice(UNet2D model, SliceShard slices, Device device, int batch)
    {
        var predicted = Predict(model, slices, device, batch);
        var n = slices.Images.PixelsPerImage;
        var perVolume = new List<double>();
        var perClass = Enumerable.Range(0, model.Classes - 1).Select(_ => new List<double>()).ToArray();
        foreach (var group in Enumerable.Range(0, slices.Count).GroupBy(i => slices.VolumeOf[i]))
        {
            var idx = group.ToArray();
            var pred = new byte[idx.Length * n];
            var truth = new byte[idx.Length * n];
            for (var k = 0; k < idx.Length; k++)
            {
                Buffer.BlockCopy(predicted, idx[k] * n, pred, k * n, n);
                Buffer.BlockCopy(slices.Masks!, idx[k] * n, truth, k * n, n);
            }
            var dice = SegmentationMetrics.DicePerClass(pred, truth, model.Classes);
            for (var c = 0; c < dice.Length; c++)
                if (!double.IsNaN(dice[c])) perClass[c].Add(dice[c]);
            var present = dice.Where(d => !double.IsNaN(d)).ToList();
            if (present.Count > 0) perVolume.Add(present.Average());
        }
        return (perVolume.Count == 0 ? double.NaN : perVolume.Average(),
            perClass.Select(l => l.Count == 0 ? double.NaN : l.Average()).ToArray());
    }

    private static byte[] Predict(UNet2D model, SliceShard slices, Device device, int batch)
    {
        model.eval();
        var output = new byte[slices.Count * slices.Images.PixelsPerImage];
        using var _ = no_grad();
        for (var start = 0; start < slices.Count; start += batch)
        {
            using var scope = NewDisposeScope();
            var idx = Enumerable.Range(start, Math.Min(batch, slices.Count - start)).ToArray();
            var labels = model.forward(slices.Images.Images(idx, device)).argmax(1).to_type(ScalarType.Byte).cpu().contiguous();
            labels.data<byte>().CopyTo(output, start * slices.Images.PixelsPerImage);
        }
        return output;
    }
}
