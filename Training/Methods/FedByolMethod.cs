using FedActors.Training.Augmentations;
using FedActors.Training.Data;
using FedActors.Training.Experiments;
using FedActors.Training.Objectives;
using FedActors.Training.Randomness;
using FedActors.Training.Weights;
using static TorchSharp.torch;

namespace FedActors.Training.Methods;

/// <summary>FedBYOL (ALGORITHMS.md §5): BYOL clients, FedAvg of the online encoder and the predictor.</summary>
public class FedByolMethod(FederatedExperiment experiment) : IFederatedMethod
{
    /// <summary>The config name, <c>fedbyol</c>.</summary>
    public const string MethodName = "fedbyol";

    /// <summary>FedBYOL: no keys of its own (its target follows <c>moco.key-momentum</c>).</summary>
    public static MethodRegistration Registration { get; } = new(MethodName, "BYOL clients, FedAvg of the online encoder and predictor (ALGORITHMS.md §5)",
        (experiment, _) => new FedByolMethod(experiment));

    /// <inheritdoc/>
    public virtual string Name => MethodName;

    /// <summary>A <see cref="ByolLearner"/> for <paramref name="hospitalId"/>, seeded from the experiment seed and the hospital id.</summary>
    /// <param name="hospitalId">The hospital whose learner it is.</param>
    public virtual ILocalLearner CreateClient(string hospitalId) => CreateByol(hospitalId);

    /// <summary>
    /// A BYOL learner on the experiment's network, trained like its MoCo clients (<see cref="FedSimClrMethod.OptionsLike"/>),
    /// its target following <c>moco.key-momentum</c>, seeded for <paramref name="hospitalId"/>; the caller owns it.
    /// </summary>
    /// <param name="hospitalId">The hospital whose learner it is.</param>
    protected ByolLearner CreateByol(string hospitalId) =>
        new(experiment.CreateNetwork, FedSimClrMethod.OptionsLike(experiment.Settings.MoCo, NtXentLoss.DefaultTemperature),
            experiment.Settings.MoCo.KeyMomentum, new ViewAugmenter(experiment.Settings.Augmentation),
            SeededRandom.DeriveSeed(experiment.Settings.Seed, $"{hospitalId}/learner"), experiment.Device);

    /// <summary>A <see cref="FederatedAveragingServer"/> under this method's name.</summary>
    public IFederatedServer CreateServer() => new FederatedAveragingServer(Name);

    /// <summary>The seeded initial <see cref="ByolModel"/> (online encoder and predictor), drawn from the experiment seed.</summary>
    public ModelWeights InitialGlobal()
    {
        using var model = TorchRuntime.Seeded(SeededRandom.DeriveSeed(experiment.Settings.Seed, "global/init"), () => new ByolModel(experiment.CreateNetwork()));
        return ModelWeights.FromModule(model);
    }
}

/// <summary>
/// FedU (ALGORITHMS.md §5): FedBYOL whose clients take the global predictor only while their
/// online encoder is within <paramref name="threshold"/> of the global one (‖θ_g − θ_i‖ &lt; μ, over
/// the encoder's learned tensors, not its BatchNorm statistics);
/// otherwise they keep their own predictor. The encoder always comes from the global.
/// </summary>
public sealed class FedUMethod(FederatedExperiment experiment, double threshold) : FedByolMethod(experiment)
{
    /// <summary>The config name, <c>fedu</c>.</summary>
    public new const string MethodName = "fedu";

    /// <summary>The encoder distance below which a client takes the global predictor.</summary>
    public static readonly NumberKey Threshold = new("fedu.threshold", 1, 0, 1e9,
        "a client takes the global predictor only while its online encoder is within this L2 distance of the global one");

    /// <summary>FedU.</summary>
    public new static MethodRegistration Registration { get; } = new(MethodName, "fedbyol whose clients keep their own predictor once they diverge from the global (ALGORITHMS.md §5)",
        (experiment, settings) => new FedUMethod(experiment, settings.Get(Threshold))) { Keys = [Threshold] };

    /// <inheritdoc/>
    public override string Name => MethodName;

    /// <summary>A <see cref="FedUClient"/> around a BYOL learner for <paramref name="hospitalId"/>.</summary>
    /// <param name="hospitalId">The hospital whose learner it is.</param>
    public override ILocalLearner CreateClient(string hospitalId) => new FedUClient(CreateByol(hospitalId), threshold);
}

/// <summary>FedU's client rule around a BYOL learner (see <see cref="FedUMethod"/>).</summary>
public sealed class FedUClient(ByolLearner learner, double threshold) : LearnerClient<ByolLearner>(learner)
{
    /// <summary>Whether the last <see cref="LoadGlobal"/> took the global predictor.</summary>
    public bool TookGlobalPredictor { get; private set; }

    /// <summary>
    /// Loads the global encoder, and the global predictor only if the client has not trained yet or its online
    /// encoder's learned tensors are within the threshold (L2) of the global's; otherwise it keeps its own predictor.
    /// </summary>
    /// <param name="global">The round's global BYOL model.</param>
    public override void LoadGlobal(ModelWeights global)
    {
        if (Learner.DescribeState().OptimizerSteps == 0)
        {
            TookGlobalPredictor = true;
            Learner.LoadGlobal(global);
            return;
        }
        var local = Learner.ExportWeights();
        TookGlobalPredictor = global.Submodule(ByolModel.Encoder).Learned().DistanceTo(local.Submodule(ByolModel.Encoder).Learned()) < threshold;
        Learner.LoadGlobal(TookGlobalPredictor ? global : new ModelWeights(global.Tensors
            .Select(t => t.Name.StartsWith(ByolModel.Predictor + ".", StringComparison.Ordinal) ? local[t.Name] : t).ToList()));
    }
}
