using FedActors.Training.Objectives;
using FedActors.Training.Aggregation;
using FedActors.Training.Data;
using FedActors.Training.Models;
using FedActors.Training.Randomness;
using FedActors.Training.Weights;
using TorchSharp;
using static TorchSharp.torch;

namespace FedActors.Training.Evaluation;

/// <summary>How a pre-trained encoder is judged by segmentation (ALGORITHMS.md §0 and §2), sized for a CPU by default.</summary>
public sealed record SegmentationEvaluationOptions
{
    /// <summary>N: labelled volumes per hospital, one figure each (an N some hospital lacks is reported as skipped).</summary>
    public IReadOnlyList<int> LabelledVolumes { get; init; } = [1, 2, 4];

    /// <summary>Local fine-tuning: epochs (best on the validation volumes), batch, learning rate.</summary>
    public SegmentationFineTuneOptions FineTune { get; init; } = new() { Epochs = 10 };

    /// <summary>Federated fine-tuning: FedAvg rounds (the global best on validation is reported) and local epochs per round.</summary>
    public int FederatedRounds { get; init; } = 5;
    /// <summary>Epochs each hospital trains per federated fine-tuning round. Default 2; config key <c>fedactors.evaluation.segmentation.federated-local-epochs</c>.</summary>
    public int FederatedLocalEpochs { get; init; } = 2;

    /// <summary>Whether to run local fine-tuning (each hospital alone). Default <see langword="true"/>.</summary>
    public bool Local { get; init; } = true;
    /// <summary>Whether to run federated (FedAvg) fine-tuning. Default <see langword="true"/>.</summary>
    public bool Federated { get; init; } = true;
}

/// <summary>
/// One segmentation figure: <paramref name="Protocol"/> with <paramref name="LabelledVolumes"/> labelled volumes per
/// hospital, test Dice (local: mean over hospitals, <paramref name="DiceStd"/> their sample std; federated: the global's,
/// std NaN). <paramref name="Skipped"/> says why there is no figure.
/// </summary>
/// <param name="Protocol"><see cref="LocalFineTune"/> or <see cref="FederatedFineTune"/>.</param>
/// <param name="LabelledVolumes">Labelled volumes each hospital fine-tuned on (N).</param>
/// <param name="Dice">Test Dice in [0, 1]; NaN when skipped.</param>
/// <param name="DiceStd">Sample standard deviation of the hospitals' test Dice (0 with one hospital); NaN for federated or skipped.</param>
/// <param name="PerHospital">Local fine-tuning: each hospital's test Dice by hospital id; empty for federated or skipped.</param>
/// <param name="Skipped">Why the figure is missing (hospitals with fewer than N volumes), or <see langword="null"/> when it was computed.</param>
public sealed record SegmentationScore(string Protocol, int LabelledVolumes, double Dice, double DiceStd,
    IReadOnlyDictionary<string, double> PerHospital, string? Skipped = null)
{
    /// <summary>Protocol name of local fine-tuning: each hospital fine-tunes alone on its N volumes.</summary>
    public const string LocalFineTune = "local-fine-tune";
    /// <summary>Protocol name of federated fine-tuning: the hospitals fine-tune one U-Net together by FedAvg.</summary>
    public const string FederatedFineTune = "federated-fine-tune";
}

/// <summary>
/// Judges a pre-trained U-Net encoder the way the FCL paper does: a U-Net whose encoder it initialises
/// (or a random one, the "random init" baseline) is fine-tuned with N labelled volumes per hospital,
/// each hospital alone (local fine-tuning: mean ± std of their test Dice) and all together by FedAvg
/// (federated fine-tuning). Dice is per held-out volume (3D), over foreground classes, then over volumes.
/// A hospital's N volumes are the first N of its volumes in a seeded order. Given each hospital's own
/// encoder (Local CL), local fine-tuning starts each hospital from its own; FedAvg from the shared one.
/// </summary>
public static class SegmentationEvaluation
{
    /// <summary>
    /// Runs the enabled protocols for every N of <see cref="SegmentationEvaluationOptions.LabelledVolumes"/>, local before
    /// federated for each N.
    /// </summary>
    /// <param name="encoder">Pre-trained encoder weights, or <see langword="null"/> for the random-init baseline.</param>
    /// <param name="createEncoder">Builds an untrained encoder of the pre-trained architecture.</param>
    /// <param name="classes">Segmentation classes, background included.</param>
    /// <param name="hospitals">Each hospital's slices with label maps; at least one hospital, none empty.</param>
    /// <param name="validation">Slices (with label maps) the epoch or round is chosen on.</param>
    /// <param name="test">Slices (with label maps) the reported Dice is measured on.</param>
    /// <param name="device">Device fine-tuning runs on.</param>
    /// <param name="seed">Seeds volume choice, initialisation and batch order.</param>
    /// <param name="options">Protocols and hyper-parameters; <see langword="null"/> for the defaults.</param>
    /// <param name="ownEncoders">Each hospital's own encoder (Local CL) for local fine-tuning, by hospital id; must cover every hospital
    /// when given. <see langword="null"/> to start every hospital from <paramref name="encoder"/>.</param>
    /// <returns>One score per protocol and N, in that order; an N some hospital lacks gives skipped scores.</returns>
    /// <exception cref="ArgumentException">No hospital, a hospital without slices or label maps, validation or test without label maps,
    /// or <paramref name="ownEncoders"/> missing a hospital.</exception>
    public static IReadOnlyList<SegmentationScore> Evaluate(ModelWeights? encoder, Func<UNetEncoder> createEncoder, int classes,
        IReadOnlyList<(string HospitalId, SliceShard Slices)> hospitals, SliceShard validation, SliceShard test,
        Device device, ulong seed, SegmentationEvaluationOptions? options = null, IReadOnlyDictionary<string, ModelWeights>? ownEncoders = null)
    {
        options ??= new SegmentationEvaluationOptions();
        foreach (var (id, _) in hospitals)
            if (ownEncoders is not null && !ownEncoders.ContainsKey(id)) throw new ArgumentException($"Hospital '{id}': no encoder of its own to fine-tune.", nameof(ownEncoders));
        if (hospitals.Count == 0) throw new ArgumentException("Segmentation evaluation needs at least one hospital.", nameof(hospitals));
        foreach (var (id, slices) in hospitals)
        {
            if (slices.Masks is null) throw new ArgumentException($"Hospital '{id}': its slices carry no label maps to fine-tune on.", nameof(hospitals));
            if (slices.Count == 0) throw new ArgumentException($"Hospital '{id}': no slices.", nameof(hospitals));
        }
        if (validation.Masks is null || test.Masks is null) throw new ArgumentException("The validation and test volumes need label maps.");
        var scores = new List<SegmentationScore>();
        foreach (var n in options.LabelledVolumes)
        {
            if (n < 1) throw new ArgumentOutOfRangeException(nameof(options), n, "labelled volumes per hospital must be at least 1");
            var lacking = hospitals.Where(h => h.Slices.VolumeOf.Distinct().Count() < n).Select(h => h.HospitalId).ToList();
            if (lacking.Count > 0)
            {
                var why = $"{string.Join(", ", lacking)} {(lacking.Count == 1 ? "has" : "have")} fewer than {n} volumes";
                if (options.Local) scores.Add(new(SegmentationScore.LocalFineTune, n, double.NaN, double.NaN, new Dictionary<string, double>(), why));
                if (options.Federated) scores.Add(new(SegmentationScore.FederatedFineTune, n, double.NaN, double.NaN, new Dictionary<string, double>(), why));
                continue;
            }
            var labelled = hospitals.Select(h => (h.HospitalId, Slices: Labelled(h.Slices, n, SeededRandom.Derive(seed, $"{h.HospitalId}/segmentation/volumes")))).ToList();
            if (options.Local) scores.Add(Local(id => ownEncoders?[id] ?? encoder, createEncoder, classes, labelled, validation, test, device, seed, n, options));
            if (options.Federated) scores.Add(Federated(encoder, createEncoder, classes, labelled, validation, test, device, seed, n, options));
        }
        return scores;
    }

    /// <summary>The slices of the first <paramref name="n"/> of the shard's volumes in a seeded order.</summary>
    public static SliceShard Labelled(SliceShard slices, int n, SeededRandom rng)
    {
        var volumes = slices.VolumeOf.Distinct().Order().ToArray();
        var order = rng.Permutation(volumes.Length);
        return slices.OfVolumes(order.Take(n).Select(i => volumes[i]).ToHashSet());
    }

    /// <summary>A seeded U-Net whose encoder carries <paramref name="encoder"/> (null: its own random initialisation).</summary>
    public static UNet2D NewUNet(ModelWeights? encoder, Func<UNetEncoder> createEncoder, int classes, Device device, ulong seed)
    {
        var model = TorchRuntime.Seeded(seed, () => new UNet2D(createEncoder(), classes));
        if (encoder is not null) model.InitialiseEncoder(encoder);
        model.to(device);
        return model;
    }

    private static SegmentationScore Local(Func<string, ModelWeights?> encoderOf, Func<UNetEncoder> createEncoder, int classes,
        IReadOnlyList<(string HospitalId, SliceShard Slices)> labelled, SliceShard validation, SliceShard test, Device device, ulong seed, int n,
        SegmentationEvaluationOptions options)
    {
        var perHospital = new Dictionary<string, double>(StringComparer.Ordinal);
        foreach (var (id, slices) in labelled)
        {
            using var model = NewUNet(encoderOf(id), createEncoder, classes, device, SeededRandom.DeriveSeed(seed, "segmentation/decoder"));
            perHospital[id] = SegmentationFineTuning.Evaluate(model, slices, validation, test, device,
                SeededRandom.DeriveSeed(seed, $"{id}/segmentation/local/{n}"), options.FineTune).TestDice;
        }
        var dice = perHospital.Values.ToList();
        var mean = dice.Average();
        var std = dice.Count > 1 ? Math.Sqrt(dice.Sum(d => (d - mean) * (d - mean)) / (dice.Count - 1)) : 0;
        return new SegmentationScore(SegmentationScore.LocalFineTune, n, mean, std, perHospital);
    }

    private static SegmentationScore Federated(ModelWeights? encoder, Func<UNetEncoder> createEncoder, int classes,
        IReadOnlyList<(string HospitalId, SliceShard Slices)> labelled, SliceShard validation, SliceShard test, Device device, ulong seed, int n,
        SegmentationEvaluationOptions options)
    {
        using var global = NewUNet(encoder, createEncoder, classes, device, SeededRandom.DeriveSeed(seed, "segmentation/decoder"));
        var state = ModelWeights.FromModule(global);
        var best = (Dice: double.NegativeInfinity, Weights: state);
        for (var round = 1; round <= options.FederatedRounds; round++)
        {
            var uploads = new List<WeightedContribution>();
            foreach (var (id, slices) in labelled)
            {
                state.LoadInto(global);
                // A fresh AdamW each round: fine-tuning clients keep no optimiser state, as in plain FedAvg.
                using var optimizer = Optimizers.AdamW(global.parameters(), options.FineTune.LearningRate, options.FineTune.WeightDecay);
                var rng = SeededRandom.Derive(seed, $"{id}/segmentation/federated/{n}/{round}");
                for (var e = 0; e < options.FederatedLocalEpochs; e++)
                    SegmentationFineTuning.TrainEpoch(global, optimizer, slices, device, options.FineTune.BatchSize, rng);
                uploads.Add(new WeightedContribution(id, ModelWeights.FromModule(global), slices.Count));
            }
            state = FederatedAveraging.WeightedMean(uploads);
            state.LoadInto(global);
            var dice = SegmentationFineTuning.MeanVolumeDice(global, validation, device, options.FineTune.BatchSize).Mean;
            if (dice > best.Dice) best = (dice, state);
        }
        best.Weights.LoadInto(global);
        var (testDice, _) = SegmentationFineTuning.MeanVolumeDice(global, test, device, options.FineTune.BatchSize);
        return new SegmentationScore(SegmentationScore.FederatedFineTune, n, testDice, double.NaN,
            new Dictionary<string, double>(StringComparer.Ordinal));
    }
}
