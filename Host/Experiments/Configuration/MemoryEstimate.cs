using System.Globalization;
using FedActors.Training.Experiments;

namespace FedActors.Host.Configuration;

/// <summary>
/// A lower bound on the memory an experiment's hospitals hold (their synthetic images or volumes, and, while they stay
/// resident, each one's model with its MoCo key encoder, gradients and optimiser state), checked against the memory
/// this process may use (<see cref="GC.GetGCMemoryInfo()"/>'s total available bytes): a config that cannot fit is refused
/// at <c>validate</c>, not after minutes of setup. A lower bound, so it never refuses a config that would fit.
/// </summary>
public static class MemoryEstimate
{
    /// <summary>Bytes the hospitals need at least: <paramref name="e"/>'s images (1 byte per pixel and channel) or volumes (4 bytes per voxel), plus resident models.</summary>
    /// <param name="e">The experiment.</param>
    /// <param name="residentModels">Every hospital keeps its model in memory (hospitals are not passivated).</param>
    public static double HospitalBytes(ExperimentSettings e, bool residentModels)
    {
        double data = e.DataSource switch
        {
            ExperimentSettings.SyntheticSource => (double)e.Hospitals * ((double)e.TrainImagesPerHospital + e.TestImagesPerHospital) * e.ImageSize * e.ImageSize,
            ExperimentSettings.SyntheticSkinSource => 3.0 * e.Hospitals * ((double)e.TrainImagesPerHospital + e.TestImagesPerHospital) * e.ImageSize * e.ImageSize,
            ExperimentSettings.SyntheticCardiacSource => 4.0 * e.Hospitals * e.VolumesPerHospital * e.VolumeDepth * e.SliceSize * (double)e.SliceSize,
            _ => 0, // a file's images: as many as the file holds, whatever the counts say
        };
        if (!residentModels) return data;
        // The small CNN's 3x3 convolutions and its projection head: a lower bound for either encoder.
        var widths = e.EncoderWidths;
        double parameters = 9.0 * widths[0];
        for (var i = 1; i < widths.Length; i++) parameters += 9.0 * widths[i - 1] * widths[i];
        parameters += (double)widths[^1] * widths[^1] + (double)widths[^1] * e.ProjectionDim;
        // Query and key encoders, gradients, SGD momentum: four float32 copies; and the MoCo queue.
        var model = FedActors.Training.TrainingMemory.ModelCopies * sizeof(float) * parameters + 4.0 * e.MoCo.QueueSize * e.ProjectionDim;
        return data + e.Hospitals * model;
    }

    /// <summary>Fails, naming the keys, when <see cref="HospitalBytes"/> exceeds <paramref name="availableBytes"/>.</summary>
    /// <param name="r">The config, to name the keys' sources.</param>
    /// <param name="e">The experiment.</param>
    /// <param name="residentModels">Every hospital keeps its model in memory.</param>
    /// <param name="availableBytes">The memory this process may use.</param>
    internal static void Check(ConfigReader r, ExperimentSettings e, bool residentModels, long availableBytes)
    {
        var needed = HospitalBytes(e, residentModels);
        if (needed <= availableBytes) return;
        var per = e.IsVolumetric
            ? $"data.volumes-per-hospital = {e.VolumesPerHospital} of data.volume-depth = {e.VolumeDepth} slices of data.slice-size = {e.SliceSize}"
            : $"data.train-images-per-hospital = {e.TrainImagesPerHospital} and data.test-images-per-hospital = {e.TestImagesPerHospital} of data.image-size = {e.ImageSize}";
        throw r.Error("fedactors.data.hospitals", string.Create(CultureInfo.InvariantCulture,
            $"is {e.Hospitals}: with {per}{(residentModels ? " and a model each (passivate-hospitals off)" : "")}, the hospitals need at least " +
            $"{needed / 1e9:F1} GB of memory, and this machine gives this process {availableBytes / 1e9:F1} GB; lower the hospitals or their images"));
    }
}
