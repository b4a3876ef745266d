using FedActors.Training.Augmentations;
using FedActors.Training.Data;
using FedActors.Training.Methods;
using FedActors.Training.Models;
using FedActors.Training.Randomness;
using FedActors.Training.Weights;
using TorchSharp;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace FedActors.Training.Objectives;

/// <summary>How a client of the imbalanced-classification family trains (ALGORITHMS.md §4: the public Fed-MAS code's settings).</summary>
public sealed record ImbalancedClassifierOptions
{
    /// <summary>Balanced softmax CE(z + log π, y) with the client's own prior π, or plain cross entropy.</summary>
    public bool BalancedSoftmax { get; init; } = true;

    /// <summary>λ of λ·mean L_f, with an auxiliary encoder (Fed-MAS); without one this is unused.</summary>
    public double Lambda { get; init; } = 3;

    /// <summary>FedProx's μ: each step's loss gains μ/2·‖θ − θ_g‖² over the model's parameters (0: none).</summary>
    public double ProximalMu { get; init; }

    /// <summary>Adam's learning rate (no weight decay); Adam's state persists across rounds. Default 3e-4; config key <c>fedactors.classifier.learning-rate</c>.</summary>
    public double LearningRate { get; init; } = 3e-4;
    /// <summary>Each step clips the gradients' global L2 norm to this. Default 5; config key <c>fedactors.classifier.clip-norm</c>.</summary>
    public double ClipNorm { get; init; } = 5;
    /// <summary>Images per step (a ragged last batch is dropped). Default 32; config key <c>fedactors.classifier.batch-size</c>.</summary>
    public int BatchSize { get; init; } = 32;
    /// <summary>Passes over the local shard per round. Default 1; config key <c>fedactors.classifier.local-epochs</c>.</summary>
    public int LocalEpochs { get; init; } = 1;
}

/// <summary>
/// A hospital training the two-head <see cref="FedMasModel"/> on its labelled, imbalanced shard with Adam
/// (state kept across rounds) and gradient clipping. With an <see cref="AuxiliaryEncoder"/> it is Fed-MAS's
/// client (ALGORITHMS.md §4): per round it measures W_c with the global model (eval mode, no gradient, one
/// pass over augmented data), trains on <c>λ·mean L_f + BSM(out_1) + BSM(out_2)</c> while averaging L_f per
/// class (L̂_c), and uploads its <see cref="RobustFactor"/>. Without one it is a baseline: CE or BSM on out_1
/// (FedAvg), plus FedProx's proximal term when μ &gt; 0; it uploads weights only.
/// </summary>
public sealed class ImbalancedClassifierLearner : ModuleLearner, IFederatedClient
{
    /// <summary>The state kind written into this learner's saved state.</summary>
    public const string StateKind = "imbalanced-classifier";
    /// <summary>Name of the upload payload carrying Fed-MAS's robust factor (a <see cref="ScalarPayload"/>).</summary>
    public const string RobustFactorPayload = "robust-factor";

    private readonly ImbalancedClassifierOptions _options;
    private readonly AuxiliaryEncoder? _auxiliary;
    private readonly ViewAugmenter _augmenter;
    private readonly int _classes;
    private ProximalAnchor? _anchor; // the round's global parameters, for the proximal term
    private double? _robustFactor;

    /// <summary>Creates a hospital's learner; the model is built seeded from <paramref name="seed"/> and placed on <paramref name="device"/>.</summary>
    /// <param name="model">Builds the two-head classifier.</param>
    /// <param name="options">Loss, optimiser and batch settings.</param>
    /// <param name="auxiliary">Fed-MAS's frozen encoder, owned and disposed by the learner from now on; <see langword="null"/> for the baselines.</param>
    /// <param name="augmenter">Draws the augmented views the classifier trains (and W_c is measured) on.</param>
    /// <param name="seed">The hospital's seed: model initialisation and the learner's RNG derive from it.</param>
    /// <param name="device">Device training starts on.</param>
    public ImbalancedClassifierLearner(Func<FedMasModel> model, ImbalancedClassifierOptions options, AuxiliaryEncoder? auxiliary,
        ViewAugmenter augmenter, ulong seed, Device device)
        : base(StateKind, TorchRuntime.Seeded(seed, model), new SimClrOptions { BatchSize = options.BatchSize, LocalEpochs = options.LocalEpochs },
            SeededRandom.Derive(seed, "classifier"), device, parameters => Optimizers.Adam(parameters, options.LearningRate))
    {
        _options = options;
        _auxiliary = auxiliary;
        _augmenter = augmenter;
        _classes = ((FedMasModel)Module).Classes;
        GradientClipNorm = options.ClipNorm;
        _auxiliary?.MoveTo(device);
    }

    private FedMasModel Model => (FedMasModel)Module;

    /// <summary>The last round's W_c (before training) and L̂_c (during it); NaN for a class the shard lacks. Fed-MAS only.</summary>
    public (double[] Global, double[] Local)? LastMeasurements { get; private set; }

    /// <summary>Loads the global weights and, with FedProx (μ &gt; 0), keeps a copy of its parameters as the proximal anchor.</summary>
    /// <param name="global">The broadcast weights.</param>
    public override void LoadGlobal(ModelWeights global)
    {
        base.LoadGlobal(global);
        _anchor?.Dispose();
        _anchor = _options.ProximalMu > 0 ? ProximalAnchor.Capture(Module.parameters()) : null;
    }

    /// <summary>One round on the labelled shard, as the type describes; with an auxiliary encoder it also measures W_c, L̂_c and the robust factor.</summary>
    /// <param name="shard">The hospital's labelled images; at least 2, labels within the model's classes.</param>
    /// <exception cref="InvalidOperationException">The shard has fewer than 2 images.</exception>
    /// <exception cref="InvalidDataException">A label is outside the model's classes.</exception>
    public override LocalTrainingResult Train(ImageShard shard)
    {
        if (shard.Count < 2) throw new InvalidOperationException($"Training needs at least 2 local images, the shard has {shard.Count}.");
        var counts = new long[_classes];
        foreach (var label in shard.Labels)
        {
            if (label < 0 || label >= _classes) throw new InvalidDataException($"A local label is {label}, outside the model's {_classes} classes.");
            counts[label]++;
        }
        using var logPrior = BalancedSoftmaxLoss.LogPrior(counts, Device);
        var global = _auxiliary is null ? null : MeasureDivergence(shard);
        var sums = new double[_classes];
        var seen = new long[_classes];

        Module.train();
        var result = TrainEpochs(AllOf(shard), indices =>
        {
            var images = _augmenter.Augment(shard.Images(indices, Device), Rng);
            var labels = shard.LabelTensor(indices, Device);
            var heads = Model.Heads(images);
            var loss = Classification(heads.Logits, labels, logPrior);
            if (_auxiliary is not null)
            {
                var divergence = FedMasDivergence.PerSample(heads.Projected, _auxiliary.Features(images));
                Accumulate(divergence, indices, shard, sums, seen);
                loss = _options.Lambda * divergence.mean() + loss + Classification(heads.ProjectedLogits, labels, logPrior);
            }
            return Proximal(loss);
        });
        if (global is not null)
        {
            var local = RobustFactor.ClassMeans(sums, seen);
            LastMeasurements = (global, local);
            _robustFactor = RobustFactor.Compute(global, local);
        }
        return result;
    }

    private Tensor Classification(Tensor logits, Tensor labels, Tensor logPrior) =>
        _options.BalancedSoftmax ? BalancedSoftmaxLoss.Compute(logits, labels, logPrior) : F.cross_entropy(logits, labels);

    private Tensor Proximal(Tensor loss) => _anchor is null ? loss : _anchor.AddTo(loss, Module.parameters(), _options.ProximalMu);

    /// <summary>W_c: per-class mean L_f of the model as loaded (the global), eval mode, one pass over augmented local data.</summary>
    private double[] MeasureDivergence(ImageShard shard)
    {
        Module.eval();
        var sums = new double[_classes];
        var seen = new long[_classes];
        using var _ = no_grad();
        var all = AllOf(shard);
        for (var start = 0; start < shard.Count; start += _options.BatchSize)
        {
            using var scope = NewDisposeScope();
            var indices = new ArraySegment<int>(all, start, Math.Min(_options.BatchSize, shard.Count - start));
            var images = _augmenter.Augment(shard.Images(indices, Device), Rng);
            Accumulate(FedMasDivergence.PerSample(Model.Heads(images).Projected, _auxiliary!.Features(images)), indices, shard, sums, seen);
        }
        return RobustFactor.ClassMeans(sums, seen);
    }

    private static void Accumulate(Tensor divergence, IReadOnlyList<int> indices, ImageShard shard, double[] sums, long[] seen)
    {
        var values = divergence.detach().cpu().to_type(ScalarType.Float64).data<double>().ToArray();
        for (var i = 0; i < values.Length; i++)
        {
            var label = shard.Labels[indices[i]];
            sums[label] += values[i];
            seen[label]++;
        }
    }

    /// <summary>Nothing to receive: the family's servers broadcast only the global model.</summary>
    /// <param name="round">The round.</param>
    /// <param name="broadcast">Ignored.</param>
    public void ReceiveBroadcast(int round, MethodPayloads broadcast) { }

    /// <summary>With an auxiliary encoder, the robust factor measured by this round's training (<see cref="RobustFactorPayload"/>); otherwise nothing.</summary>
    /// <param name="round">The round.</param>
    /// <param name="shard">The hospital's shard (unused).</param>
    /// <exception cref="InvalidOperationException">Fed-MAS only: this round has not trained, or the factor was already collected.</exception>
    public MethodPayloads CollectUpload(int round, ImageShard shard)
    {
        if (_auxiliary is null) return MethodPayloads.Empty;
        var rf = _robustFactor ?? throw new InvalidOperationException("The robust factor is measured by training; this round has not trained.");
        _robustFactor = null;
        return MethodPayloads.Of((RobustFactorPayload, new ScalarPayload(rf)));
    }

    /// <summary>The auxiliary encoder's tensors, to check that training never changes them.</summary>
    public ModelWeights? AuxiliaryWeights() => _auxiliary?.Weights();

    /// <inheritdoc/>
    protected override void OnMoved(Device device)
    {
        _auxiliary?.MoveTo(device);
        _anchor?.MoveTo(device);
    }

    /// <inheritdoc/>
    protected override void OnDispose()
    {
        _anchor?.Dispose();
        _auxiliary?.Dispose();
    }
}
