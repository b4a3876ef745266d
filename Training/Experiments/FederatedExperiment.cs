using FedActors.Training.Augmentations;
using FedActors.Training.Data;
using FedActors.Training.Evaluation;
using FedActors.Training.Models;
using FedActors.Training.Objectives;
using FedActors.Training.Randomness;
using FedActors.Training.Weights;
using TorchSharp;
using static TorchSharp.torch;

namespace FedActors.Training.Experiments;

/// <summary>
/// One downstream figure: <paramref name="Protocol"/> (linear-probe, fine-tune, or the majority-class baseline) of one
/// <paramref name="Encoder"/> with a fraction of the labels, on one held-out <paramref name="Split"/>.
/// </summary>
/// <param name="Protocol"><see cref="LinearProbe"/>, <see cref="FineTune"/> or <see cref="MajorityClass"/>.</param>
/// <param name="Encoder"><see cref="FinalEncoder"/> (the run's final global), <see cref="RandomInitEncoder"/> (its round-0 global), or <see cref="NoEncoder"/> for the majority-class baseline.</param>
/// <param name="Split">The held-out split scored (<see cref="EvaluationSplits"/>).</param>
/// <param name="LabelFraction">The stratified share of the pooled training labels used.</param>
/// <param name="Labelled">How many labelled images that share gave.</param>
/// <param name="Accuracy">Accuracy on <paramref name="Split"/>, in [0, 1].</param>
/// <param name="BalancedAccuracy">Balanced accuracy (mean per-class recall) on <paramref name="Split"/>, in [0, 1].</param>
/// <param name="SelectedStep">The optimiser step chosen on validation balanced accuracy; 0 for the majority-class baseline.</param>
/// <param name="StepBudget">The optimiser steps taken in all (the protocol's fixed budget); 0 for the majority-class baseline.</param>
/// <param name="ValidationBalancedAccuracy">Validation balanced accuracy at <paramref name="SelectedStep"/>; NaN for the majority-class baseline.</param>
public sealed record LabelEfficiency(string Protocol, string Encoder, string Split, double LabelFraction, int Labelled, double Accuracy, double BalancedAccuracy,
    int SelectedStep, int StepBudget, double ValidationBalancedAccuracy)
{
    /// <summary>The <see cref="Protocol"/> values: a linear probe on the frozen encoder, end-to-end fine-tuning, or always predicting the labelled set's majority class.</summary>
    public const string LinearProbe = "linear-probe", FineTune = "fine-tune", MajorityClass = "majority-class";

    /// <summary>The <see cref="Encoder"/> values: the run's final global encoder, its initial (round-0, random) one, none (the majority-class baseline).</summary>
    public const string FinalEncoder = "final", RandomInitEncoder = "random-init", NoEncoder = "none";
}

/// <summary>
/// A federated experiment on site-shifted data, whatever its method: builds the sites and their shards, the experiment's
/// networks (the methods' registrations build their learners on them), the initial global weights, and the evaluations
/// (linear probe, fine-tuning, segmentation, global classifier) that a method's <see cref="Methods.MethodEvaluations"/> choose from.
/// </summary>
public sealed class FederatedExperiment
{
    private readonly Lazy<(ImageShard Labelled, ImageShard Test)> _probeSets;

    /// <summary>Creates the experiment: parses the device and builds (loads or draws) every site's data now; the probe's labelled set is chosen on first use.</summary>
    /// <param name="settings">What the run computes; invalid data sources or device names throw.</param>
    public FederatedExperiment(ExperimentSettings settings)
    {
        Settings = settings;
        Device = TorchRuntime.ParseDevice(settings.Device);
        Sites = ExperimentSites.Create(settings);
        _probeSets = new Lazy<(ImageShard, ImageShard)>(() =>
        {
            var pool = Sites.PooledTrain();
            var chosen = LinearProbe.StratifiedFraction(pool, settings.ProbeLabelFraction, SeededRandom.Derive(settings.Seed, "probe/labels"));
            return (pool.Subset(chosen), Sites.Test);
        });
    }

    /// <summary>The settings it was created with.</summary>
    public ExperimentSettings Settings { get; }
    /// <summary>The torch device parsed from <see cref="ExperimentSettings.Device"/>, where learners and evaluations run.</summary>
    public Device Device { get; }
    /// <summary>The hospitals' data and the held-out images evaluations use.</summary>
    public ExperimentSites Sites { get; }

    /// <summary>Networks this experiment's learners park and reuse when rebuilt for a restore (<see cref="NetworkPool.Reusing"/>).</summary>
    public NetworkPool Networks { get; } = new();

    /// <summary>
    /// A network of the configured encoder (small CNN, or U-Net contracting path) with its projection head: built
    /// fresh, which must happen inside <see cref="TorchRuntime.Seeded"/>, or within <see cref="NetworkPool.Reusing"/> a parked
    /// one from <see cref="Networks"/>, holding its last values. The caller owns it (dispose with <see cref="ModuleDisposal.DisposeTree"/>).
    /// </summary>
    public ProjectedEncoder CreateNetwork() => Networks.Build(nameof(CreateNetwork), () => BuildNetwork(HeadNorm.BatchNorm));

    /// <summary>
    /// <see cref="CreateNetwork"/> with the MoCo v2 clients' projection head (<see cref="MoCoV2Options.HeadNorm"/>: batch-normed
    /// by default, MoCo v2's Linear–ReLU–Linear when set to none): the network of FedMoCo, FedMoCo-plain, FedProx and Fed-MAS's prior.
    /// </summary>
    public ProjectedEncoder CreateMoCoNetwork() => Networks.Build(nameof(CreateMoCoNetwork), () => BuildNetwork(Settings.MoCo.HeadNorm));

    private ProjectedEncoder BuildNetwork(HeadNorm headNorm)
    {
        if (Settings.Encoder != ExperimentSettings.UNetEncoder) return ProjectedEncoder.SmallCnn(Settings.EncoderWidths, Settings.ProjectionDim, Sites.Channels, headNorm);
        var backbone = new UNetEncoder(Settings.UNetWidth, Settings.UNetDepth);
        return new ProjectedEncoder(backbone, backbone.FeatureDim, Settings.ProjectionDim, headNorm: headNorm);
    }

    /// <summary>
    /// The imbalanced-classification family's model: the experiment's backbone with a projector as wide as its own
    /// pooled features (d_aux, the width of an auxiliary encoder of the same architecture) and two classifiers.
    /// </summary>
    public FedMasModel CreateClassifier() => Networks.Build(nameof(CreateClassifier), BuildClassifier);

    private FedMasModel BuildClassifier()
    {
        if (Settings.Encoder != ExperimentSettings.SmallCnnEncoder) throw new InvalidOperationException("Classification uses the small-CNN encoder.");
        var auxiliaryWidth = Settings.EncoderWidths[^1];
        return new FedMasModel(ProjectedEncoder.SmallCnn(Settings.EncoderWidths, auxiliaryWidth, Sites.Channels), Sites.Classes);
    }

    /// <summary>
    /// The global classifier (out_1) of each round in <paramref name="globals"/>: balanced accuracy on the validation
    /// images, the round with the best one chosen, and that round's balanced accuracy on the test split and on each
    /// hospital's own test images; beside it, the majority-class baseline (<see cref="ClassifierEvaluation.Majority"/>).
    /// </summary>
    public ClassifierEvaluation EvaluateClassifier(IReadOnlyList<(int Round, ModelWeights Global)> globals)
    {
        var sites = Sites.Sites.Select(s => (s.HospitalId, s.Test)).ToList();
        return ClassifierEvaluation.Evaluate(CreateClassifier, globals, Sites.Validation, Sites.Test, sites, Sites.Classes, Device) with
        {
            Majority = ClassifierEvaluation.MajorityBaseline(Sites.PooledTrain().Labels, Sites.Test, sites),
        };
    }

    /// <summary>The round-0 global model, drawn from the experiment seed.</summary>
    public ModelWeights InitialGlobal() => InitialOf(CreateNetwork);

    /// <summary>The round-0 global model of the MoCo v2 methods (<see cref="CreateMoCoNetwork"/>), drawn from the experiment seed.</summary>
    public ModelWeights InitialMoCoGlobal() => InitialOf(CreateMoCoNetwork);

    private ModelWeights InitialOf(Func<ProjectedEncoder> create)
    {
        using var network = TorchRuntime.Seeded(SeededRandom.DeriveSeed(Settings.Seed, "global/init"), create);
        return ModelWeights.FromModule(network);
    }

    /// <summary>The encoder inside a method's global model (the supervised baseline federates a classifier beside it).</summary>
    public static ModelWeights EncoderOf(ModelWeights global) =>
        global.HasSubmodule(SupervisedModel.Encoder) ? global.Submodule(SupervisedModel.Encoder) : global;

    /// <summary>Hospital <paramref name="hospitalId"/>'s MoCo v2 learner on the experiment's network, seeded from the experiment: the client FedMoCo-plain, FedMoCo and FedProx build on.</summary>
    public ILocalLearner CreateLearner(string hospitalId) =>
        new MoCoV2Learner(CreateMoCoNetwork, Settings.MoCo, new ViewAugmenter(Settings.Augmentation),
            SeededRandom.DeriveSeed(Settings.Seed, $"{hospitalId}/learner"), Device);

    /// <summary>
    /// Linear probe of the backbone carrying <paramref name="weights"/> (labelled fraction of the pooled train split; step
    /// chosen on the validation split's balanced accuracy; scored on the test split, <see cref="ProbeResult.Accuracy"/>).
    /// </summary>
    public ProbeResult Probe(ModelWeights weights)
    {
        using var network = TorchRuntime.Seeded(0, CreateNetwork);
        LoadBackbone(weights, network);
        network.to(Device);
        var (labelled, test) = _probeSets.Value;
        return LinearProbe.Evaluate(network.Backbone, labelled, Sites.Validation, [(EvaluationSplits.Test, test)], Sites.Classes, Device,
            SeededRandom.DeriveSeed(Settings.Seed, "probe/head"), Settings.Probe);
    }

    /// <summary>
    /// The majority-class baseline of the per-round probe: the accuracy, on the test split, of always predicting the most
    /// frequent class of the probe's labelled set (<see cref="ModelSelection.MajorityClassRate"/>).
    /// </summary>
    public double ProbeMajorityRate()
    {
        var (labelled, test) = _probeSets.Value;
        return ModelSelection.MajorityClassRate(labelled.Labels, test.Labels).Accuracy;
    }

    /// <summary>
    /// The backbone of a method's global model into <paramref name="network"/>: what probes and fine-tuning use, whatever
    /// head the method trained beside it (a projector of another width, classifiers).
    /// </summary>
    private static void LoadBackbone(ModelWeights weights, ProjectedEncoder network) => EncoderOf(weights).Submodule("encoder").LoadInto(network.Backbone);

    /// <summary>
    /// Volumetric sources: segmentation with the U-Net encoder carrying <paramref name="weights"/> (null: a
    /// random one, the "random init" baseline), N labelled volumes per hospital, locally and by FedAvg.
    /// </summary>
    /// <param name="weights">The method's global model; null evaluates a randomly initialised encoder.</param>
    /// <param name="localModels">Each hospital's own model (Local CL): local fine-tuning starts each hospital from its own encoder.</param>
    public IReadOnlyList<SegmentationScore> EvaluateSegmentation(ModelWeights? weights, IReadOnlyDictionary<string, ModelWeights>? localModels = null)
    {
        var heldOut = Sites.HeldOut ?? throw new InvalidOperationException("Segmentation needs a volumetric data source.");
        if (Settings.Encoder != ExperimentSettings.UNetEncoder) throw new InvalidOperationException("Segmentation needs the U-Net encoder.");
        // The projected network's backbone is its field "encoder"; inside it, a stand-alone U-Net encoder's names.
        static ModelWeights UNetPart(ModelWeights w) => EncoderOf(w).Submodule("encoder");
        var encoder = weights is null ? null : UNetPart(weights);
        return SegmentationEvaluation.Evaluate(encoder, () => new UNetEncoder(Settings.UNetWidth, Settings.UNetDepth), heldOut.SegmentationClasses,
            Sites.Sites.Select(s => (s.HospitalId, s.Slices!)).ToList(), heldOut.Validation, heldOut.Test, Device,
            SeededRandom.DeriveSeed(Settings.Seed, "evaluation/segmentation"), Settings.Segmentation,
            localModels?.ToDictionary(m => m.Key, m => UNetPart(m.Value), StringComparer.Ordinal));
    }

    /// <summary>
    /// How well the encoder carrying <paramref name="weights"/> learns from few labels, beside the baselines: for each
    /// fraction of the pooled training labels (stratified), the majority-class rate of each test split and, for the final
    /// encoder and the random-init one (<paramref name="initial"/>), a linear probe and, given <paramref name="fineTune"/>,
    /// end-to-end fine-tuning, each for its fixed step budget with the step chosen on validation balanced accuracy, scored
    /// on every split of <see cref="ExperimentSites.TestSplits"/>. Both encoders get the same labelled images and seeds.
    /// </summary>
    /// <param name="weights">The run's final global model.</param>
    /// <param name="initial">The run's initial (round-0) global model: the random-init baseline; null leaves it out.</param>
    /// <param name="fractions">The label fractions, each in (0, 1].</param>
    /// <param name="fineTune">Fine-tuning's settings; null: linear probe only.</param>
    public IReadOnlyList<LabelEfficiency> EvaluateLabelEfficiency(ModelWeights weights, ModelWeights? initial, IReadOnlyList<double> fractions, FineTuneOptions? fineTune)
    {
        var pool = Sites.PooledTrain();
        var splits = Sites.TestSplits;
        var encoders = new List<(string Name, ModelWeights Weights)> { (LabelEfficiency.FinalEncoder, weights) };
        if (initial is not null) encoders.Add((LabelEfficiency.RandomInitEncoder, initial));
        var results = new List<LabelEfficiency>();
        foreach (var fraction in fractions)
        {
            var key = fraction.ToString("R", System.Globalization.CultureInfo.InvariantCulture);
            var labelled = pool.Subset(LinearProbe.StratifiedFraction(pool, fraction, SeededRandom.Derive(Settings.Seed, $"evaluation/labels/{key}")));
            foreach (var (split, images) in splits)
            {
                var majority = ModelSelection.MajorityClassRate(labelled.Labels, images.Labels);
                results.Add(new LabelEfficiency(LabelEfficiency.MajorityClass, LabelEfficiency.NoEncoder, split, fraction, labelled.Count,
                    majority.Accuracy, majority.BalancedAccuracy, 0, 0, double.NaN));
            }
            foreach (var (encoder, encoderWeights) in encoders)
            {
                using (var network = TorchRuntime.Seeded(0, CreateNetwork))
                {
                    LoadBackbone(encoderWeights, network);
                    network.to(Device);
                    var probe = LinearProbe.Evaluate(network.Backbone, labelled, Sites.Validation, splits, Sites.Classes, Device,
                        SeededRandom.DeriveSeed(Settings.Seed, $"evaluation/probe/{key}"), Settings.Probe);
                    results.AddRange(probe.Scores.Select(s => new LabelEfficiency(LabelEfficiency.LinearProbe, encoder, s.Split, fraction, labelled.Count,
                        s.Accuracy, s.BalancedAccuracy, probe.SelectedStep, probe.StepsTaken, probe.Validation.BalancedAccuracy)));
                }
                if (fineTune is null) continue;
                using (var network = TorchRuntime.Seeded(0, CreateNetwork))
                {
                    LoadBackbone(encoderWeights, network);
                    network.to(Device);
                    var tuned = FineTuning.Evaluate(network.Backbone, network.FeatureDim, labelled, Sites.Validation, splits, Sites.Classes, Device,
                        SeededRandom.DeriveSeed(Settings.Seed, $"evaluation/finetune/{key}"), fineTune);
                    results.AddRange(tuned.Scores.Select(s => new LabelEfficiency(LabelEfficiency.FineTune, encoder, s.Split, fraction, labelled.Count,
                        s.Accuracy, s.BalancedAccuracy, tuned.SelectedStep, tuned.StepsTaken, tuned.Validation.BalancedAccuracy)));
                }
            }
        }
        return results;
    }
}
