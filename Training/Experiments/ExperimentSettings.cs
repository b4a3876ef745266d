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
    /// <summary>Seeded synthetic chest radiographs per hospital (<see cref="Data.SyntheticChestRadiographs"/>): the default source.</summary>
    public const string SyntheticSource = "synthetic";

    /// <summary>Seeded short-axis cardiac volumes with label maps (<see cref="Data.SyntheticCardiacVolumes"/>): a volumetric source.</summary>
    public const string SyntheticCardiacSource = "synthetic-cardiac";

    /// <summary>Seeded long-tailed RGB lesion images (<see cref="Data.SyntheticSkinLesions"/>): a classification source for imbalanced sites.</summary>
    public const string SyntheticSkinSource = "synthetic-skin";

    /// <summary>What marks a directory as an image folder (JPEG/PNG with labels) rather than NIfTI volumes.</summary>
    public const string ImageFolderLabels = "labels.csv";

    /// <summary>The <see cref="Encoder"/> choices (config <c>fedactors.model.encoder</c>): the small CNN (<see cref="Models.SmallCnnEncoder"/>) or the U-Net contracting path (<see cref="Models.UNetEncoder"/>).</summary>
    public const string SmallCnnEncoder = "small-cnn", UNetEncoder = "unet";

    /// <summary>The experiment seed every random stream (sites, initial model, learners, evaluation) is derived from (config <c>fedactors.seed</c>; default 42).</summary>
    public ulong Seed { get; init; } = 42;

    /// <summary>
    /// <see cref="SyntheticSource"/>, the path of a 2D MedMNIST <c>.npz</c> whose train split the hospitals
    /// share, <see cref="SyntheticCardiacSource"/>, or a directory of NIfTI volumes with <c>_gt</c> masks (or one such
    /// <c>.nii</c>/<c>.nii.gz</c> volume, its mask beside it).
    /// </summary>
    public string DataSource { get; init; } = SyntheticSource;

    /// <summary>Volumes cut into slices (hospitals train on slices tagged with their partition; judged by segmentation).</summary>
    public bool IsVolumetric => DataSource == SyntheticCardiacSource || (Directory.Exists(DataSource) && !IsImageFolder)
                                || (File.Exists(DataSource) && Data.Formats.NiftiDirectory.IsNiftiFile(DataSource));

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
    /// <summary>The labels.csv column holding the class index (config <c>fedactors.data.image-folder.label-column</c>; default <c>melanoma</c>).</summary>
    public string ImageFolderLabelColumn { get; init; } = "melanoma";
    /// <summary>The labels.csv column naming each row's split (config <c>fedactors.data.image-folder.split-column</c>; default <c>source_split</c>).</summary>
    public string ImageFolderSplitColumn { get; init; } = "source_split";
    /// <summary>The split value whose rows form the test set; all other rows are training rows (config <c>fedactors.data.image-folder.test-split</c>).</summary>
    public string ImageFolderTestSplit { get; init; } = "isic2018_test";

    /// <summary>Volumetric sources: slices are resized to this square side.</summary>
    public int SliceSize { get; init; } = 64;

    /// <summary>Volumetric sources: S, the slice-position partitions of each volume (FCL's structural label).</summary>
    public int Partitions { get; init; } = 4;

    /// <summary>Synthetic cardiac only: train volumes per hospital and slices per volume.</summary>
    public int VolumesPerHospital { get; init; } = 4;
    /// <summary>Synthetic cardiac only: slices per volume (config <c>fedactors.data.volume-depth</c>; default 16).</summary>
    public int VolumeDepth { get; init; } = 16;

    /// <summary>Volumetric sources: held-out volumes judged on (test) and choosing epochs (validation), never trained on.</summary>
    public int TestVolumes { get; init; } = 8;
    /// <summary>Volumetric sources: held-out validation volumes, which choose the segmentation epoch (config <c>fedactors.data.validation-volumes</c>; default 4).</summary>
    public int ValidationVolumes { get; init; } = 4;

    /// <summary><see cref="SmallCnnEncoder"/> (widths <see cref="EncoderWidths"/>) or <see cref="UNetEncoder"/> (a U-Net's contracting path, reusable for segmentation).</summary>
    public string Encoder { get; init; } = SmallCnnEncoder;
    /// <summary><see cref="UNetEncoder"/> only: the channel count of its full-resolution level, doubled at each level below (config <c>fedactors.model.unet-width</c>; default 16).</summary>
    public int UNetWidth { get; init; } = 16;
    /// <summary><see cref="UNetEncoder"/> only: its downsampling levels; slice sides must be divisible by 2^depth (config <c>fedactors.model.unet-depth</c>; default 3).</summary>
    public int UNetDepth { get; init; } = 3;

    /// <summary>Real data only: Dirichlet α of each class's share per hospital (smaller: more skewed); null splits IID.</summary>
    public double? LabelSkewAlpha { get; init; }

    /// <summary>The number of hospitals (sites), named by <see cref="HospitalIdOf"/> (config <c>fedactors.data.hospitals</c>; default 8).</summary>
    public int Hospitals { get; init; } = 8;
    /// <summary>Synthetic 2D sources: training images drawn per hospital; for <see cref="SyntheticSkinSource"/>, hospitals × this many in all, dealt by site size and label skew (config <c>fedactors.data.train-images-per-hospital</c>; default 400).</summary>
    public int TrainImagesPerHospital { get; init; } = 400;
    /// <summary>Synthetic 2D sources: test images drawn per hospital, likewise (config <c>fedactors.data.test-images-per-hospital</c>; default 100).</summary>
    public int TestImagesPerHospital { get; init; } = 100;
    /// <summary>Synthetic 2D sources and image folders: the square image side in pixels (config <c>fedactors.data.image-size</c>; default 32).</summary>
    public int ImageSize { get; init; } = 32;
    /// <summary>Synthetic 2D sources: the number of classes drawn; real data sets take theirs from the labels (config <c>fedactors.data.classes</c>; default 4).</summary>
    public int Classes { get; init; } = 4;
    /// <summary>Scales how different the sites' scanners are (0 = identical sites).</summary>
    public double SiteShift { get; init; } = 1.0;
    /// <summary><see cref="SmallCnnEncoder"/>'s four block widths, each a positive multiple of 8 (config <c>fedactors.model.encoder-widths</c>; default [32, 64, 128, 128]).</summary>
    public int[] EncoderWidths { get; init; } = [32, 64, 128, 128];
    /// <summary>The projection head's output (embedding) width (config <c>fedactors.model.projection-dim</c>; default 128).</summary>
    public int ProjectionDim { get; init; } = 128;
    /// <summary>The MoCo v2 clients' training settings (config <c>fedactors.moco.*</c>); the BYOL, SimCLR and supervised clients borrow its optimiser, batch and epochs.</summary>
    public MoCoV2Options MoCo { get; init; } = new();
    /// <summary>The view augmentations the clients' learners apply (config <c>fedactors.augmentation.*</c>).</summary>
    public AugmentationOptions Augmentation { get; init; } = new();
    /// <summary>The per-round linear probe (<see cref="FederatedExperiment.Probe"/>): the stratified share of the pooled training labels it trains on (config <c>fedactors.probe.label-fraction</c>; default 0.1).</summary>
    public double ProbeLabelFraction { get; init; } = 0.1;
    /// <summary>The linear probe's optimisation settings (config <c>fedactors.probe.*</c>).</summary>
    public LinearProbeOptions Probe { get; init; } = new();
    /// <summary>Where tensors live and training runs: <c>cpu</c>, <c>cuda</c> or <c>cuda:N</c> (config <c>fedactors.device</c>; default <c>cpu</c>).</summary>
    public string Device { get; init; } = "cpu";

    /// <summary>After the run: label fractions of the label-efficiency evaluation (none: skipped).</summary>
    public IReadOnlyList<double> EvaluationFractions { get; init; } = [];

    /// <summary>Fine-tuning in that evaluation too (null: linear probe only).</summary>
    public FineTuneOptions? FineTune { get; init; }

    /// <summary>Volumetric sources, after the run: segmentation with N labelled volumes per hospital (none listed: skipped).</summary>
    public SegmentationEvaluationOptions Segmentation { get; init; } = new() { LabelledVolumes = [] };

    /// <summary>The id of the hospital at zero-based <paramref name="index"/>: <c>hospital-01</c>, <c>hospital-02</c>, ….</summary>
    /// <param name="index">The hospital's zero-based index.</param>
    public static string HospitalId(int index) => $"hospital-{index + 1:D2}";

    /// <summary>
    /// The id of the hospital at zero-based <paramref name="index"/> of <paramref name="hospitals"/>: its number zero-padded to the
    /// width of the count, at least two digits, so ids sort as numbers (<c>hospital-001</c> … <c>hospital-320</c>; below 100
    /// hospitals <c>hospital-01</c>, as <see cref="HospitalId"/>).
    /// </summary>
    /// <param name="index">The hospital's zero-based index.</param>
    /// <param name="hospitals">The number of hospitals of the experiment.</param>
    public static string HospitalIdOf(int index, int hospitals) =>
        $"hospital-{(index + 1).ToString(new string('0', Math.Max(2, hospitals.ToString(System.Globalization.CultureInfo.InvariantCulture).Length)), System.Globalization.CultureInfo.InvariantCulture)}";
}
