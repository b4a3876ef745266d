using FedActors.Actors.Hospitals;
using FedActors.Training.Evaluation;
using FedActors.Training.Experiments;
using FedActors.Training.Objectives;

namespace FedActors.Tests;

/// <summary>Settings small enough that a federated round takes well under a second.</summary>
public static class TinyExperiment
{
    public static ExperimentSettings Settings(int hospitals = 8, ulong seed = 7) => new()
    {
        Seed = seed,
        Hospitals = hospitals,
        TrainImagesPerHospital = 48,
        TestImagesPerHospital = 16,
        ImageSize = 16,
        EncoderWidths = [8, 8, 16, 16],
        ProjectionDim = 16,
        MoCo = new MoCoV2Options { QueueSize = 32, BatchSize = 8, LearningRate = 0.05 },
        Probe = new LinearProbeOptions { Steps = 30 },
    };

    /// <summary>Long-tailed synthetic RGB lesions of 4 classes over unequal, label-skewed sites: a Fed-MAS experiment.</summary>
    public static ExperimentSettings Skewed(int hospitals = 3, ulong seed = 7) => Settings(hospitals, seed) with
    {
        DataSource = ExperimentSettings.SyntheticSkinSource,
        Classes = 4,
        ImbalanceRatio = 10,
        SiteSizes = [.. Enumerable.Range(0, hospitals).Select(i => 4.0 - i)],
        LabelSkewAlpha = 1,
        TrainImagesPerHospital = 40,
        TestImagesPerHospital = 12,
    };

    /// <summary>Synthetic cardiac volumes cut into 32×32 slices in 4 partitions, a tiny U-Net encoder: a volumetric experiment for FCL specs.</summary>
    public static ExperimentSettings Volumetric(int hospitals = 3, ulong seed = 7) => Settings(hospitals, seed) with
    {
        DataSource = ExperimentSettings.SyntheticCardiacSource,
        VolumesPerHospital = 2,
        VolumeDepth = 8,
        SliceSize = 32,
        TestVolumes = 3,
        ValidationVolumes = 2,
        Encoder = ExperimentSettings.UNetEncoder,
        UNetWidth = 4,
        UNetDepth = 2,
    };

    /// <summary>
    /// One definition per site; hospital i keeps 16 + 4·i of its images, so shard sizes
    /// differ and a sample-weighted mean is distinguishable from a plain one.
    /// </summary>
    public static List<HospitalDefinition> UnequalHospitals(FederatedExperiment experiment) =>
        experiment.Sites.Sites.Select((s, i) =>
        {
            var shard = s.Train.Subset(Enumerable.Range(0, 16 + 4 * i).ToArray());
            return new HospitalDefinition(s.HospitalId, () => shard, () => experiment.CreateLearner(s.HospitalId));
        }).ToList();
}
