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

    /// <summary>Seeded short-axis cardiac volumes with label maps (<see cref="Data.SyntheticCardiacVolumes"/>): a volumetric source.</summary>
    public const string SyntheticCardiacSource = "synthetic-cardiac";

    /// <summary>Seeded long-tailed RGB lesion images (<see cref="Data.SyntheticSkinLesions"/>): a classification source for imbalanced sites.</summary>
    public const string SyntheticSkinSource = "synthetic-skin";

    /// <summary>What marks a directory as an image folder (JPEG/PNG with labels) rather than NIfTI volumes.</summary>
    public const string ImageFolderLabels = "labels.csv";

    public const string SmallCnnEncoder = "small-cnn", UNetEncoder = "unet";

    public ulong Seed { get; init; } = 42;

    /// <summary>
    /// <see cref="SyntheticSource"/>, the path of a 2D MedMNIST <c>.npz</c> whose train split the hospitals
    /// share, <see cref="SyntheticCardiacSource"/>, or a directory of NIfTI volumes with <c>_gt</c> masks.
    /// </summary>
    public string DataSource { get; init; } = SyntheticSource;

    /// <summary>Volumes cut into slices (hospitals train on slices tagged with their partition; judged by segmentation).</summary>
    public bool IsVolumetric => DataSource == SyntheticCardiacSource || (Directory.Exists(DataSource) && !IsImageFolder);

    /// <summary>A directory of RGB images with <see cref="ImageFolderLabels"/> (ISIC): split over sites like <see cref="SyntheticSkinSource"/>.</summary>
    public bool IsImageFolder => Directory.Exists(DataSource) && File.Exists(Path.Combine(DataSource, ImageFolderLabels));

    /// <summary>RGB classification over unequal, label-skewed sites (<see cref="SyntheticSkinSource"/> or an image folder).</summary>
    public bool IsSkewedClassification => DataSource == SyntheticSkinSource || IsImageFolder;

    /// <summary>Skewed classification sources: each site's relative size (empty: equal sites), before label skew.</summary>
    public IReadOnlyList<double> SiteSizes { get; init; } = [];

    /// <summary><see cref="SyntheticSkinSource"/>: how many times the most frequent class outnumbers the rarest.</summary>
    public double ImbalanceRatio { get; init; } = 100;

    /// <summary>Skewed classification sources: the stratified share of each site's training images held out to choose the round.</summary>
    public double ValidationFraction { get; init; } = 0.1;

    /// <summary>An image folder's labels.csv columns: the image id, the class, and the split whose <see cref="ImageFolderTestSplit"/> rows are the test set.</summary>
    public string ImageFolderIdColumn { get; init; } = "isic_id";
    public string ImageFolderLabelColumn { get; init; } = "melanoma";
    public string ImageFolderSplitColumn { get; init; } = "source_split";
    public string ImageFolderTestSplit { get; init; } = "isic2018_test";

    /// <summary>Volumetric sources: slices are resized to this square side.</summary>
    public int SliceSize { get; init; } = 64;

    /// <summary>Volumetric sources: S, the slice-position partitions of each volume (FCL's structural label).</summary>
    public int Partitions { get; init; } = 4;

    /// <summary>Synthetic cardiac only: train volumes per hospital and slices per volume.</summary>
    public int VolumesPerHospital { get; init; } = 4;
    public int VolumeDepth { get; init; } = 16;

    /// <summary>Volumetric sources: held-out volumes judged on (test) and choosing epochs (validation), never trained on.</summary>
    public int TestVolumes { get; init; } = 8;
    public int ValidationVolumes { get; init; } = 4;

    /// <summary><see cref="SmallCnnEncoder"/> (widths <see cref="EncoderWidths"/>) or <see cref="UNetEncoder"/> (a U-Net's contracting path, reusable for segmentation).</summary>
    public string Encoder { get; init; } = SmallCnnEncoder;
    public int UNetWidth { get; init; } = 16;
    public int UNetDepth { get; init; } = 3;

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

    /// <summary>Volumetric sources, after the run: segmentation with N labelled volumes per hospital (none listed: skipped).</summary>
    public SegmentationEvaluationOptions Segmentation { get; init; } = new() { LabelledVolumes = [] };

    public static string HospitalId(int index) => $"hospital-{index + 1:D2}";
}
