using FedActors.Training.Augmentations;
using FedActors.Training.Evaluation;
using FedActors.Training.Objectives;

namespace FedActors.Training.Experiments;

/// <summary>
/// Everything that fixes what a run computes: data, sites, model, local objective,
/// evaluation. The same settings and seed give the same numbers on CPU.
/// </summary>
public sealed record ExperimentSettings
{
    public const string SyntheticSource = "synthetic";

    public ulong Seed { get; init; } = 42;

    /// <summary><see cref="SyntheticSource"/>, or the path of a 2D MedMNIST <c>.npz</c> whose train split the hospitals share.</summary>
    public string DataSource { get; init; } = SyntheticSource;

    /// <summary>Real data only: Dirichlet α of each class's share per hospital (smaller: more skewed); null splits IID.</summary>
    public double? LabelSkewAlpha { get; init; }

    public int Hospitals { get; init; } = 8;
    public int TrainImagesPerHospital { get; init; } = 400;
    public int TestImagesPerHospital { get; init; } = 100;
    public int ImageSize { get; init; } = 32;
    public int Classes { get; init; } = 4;
    /// <summary>Scales how different the sites' scanners are (0 = identical sites).</summary>
    public double SiteShift { get; init; } = 1.0;
    public int[] EncoderWidths { get; init; } = [32, 64, 128, 128];
    public int ProjectionDim { get; init; } = 128;
    public MoCoV2Options MoCo { get; init; } = new();
    public AugmentationOptions Augmentation { get; init; } = new();
    public double ProbeLabelFraction { get; init; } = 0.1;
    public LinearProbeOptions Probe { get; init; } = new();
    public string Device { get; init; } = "cpu";

    /// <summary>After the run: label fractions of the label-efficiency evaluation (none: skipped).</summary>
    public IReadOnlyList<double> EvaluationFractions { get; init; } = [];

    /// <summary>Fine-tuning in that evaluation too (null: linear probe only).</summary>
    public FineTuneOptions? FineTune { get; init; }

    public static string HospitalId(int index) => $"hospital-{index + 1:D2}";
}
