namespace FedActors.Training.Data;

/// <summary>
/// One hospital's training shard as <c>fedactors validate</c> reports it: where its images come from, how many, their shape
/// and how many of each class.
/// </summary>
/// <param name="HospitalId">The hospital.</param>
/// <param name="Source">Where its images come from, in a few words (<c>synthetic</c>, a file or folder name).</param>
/// <param name="Images">Its training images (for a volumetric source, its slices).</param>
/// <param name="Channels">Channels per image (1 grey, 3 RGB).</param>
/// <param name="Height">Image height in pixels.</param>
/// <param name="Width">Image width in pixels.</param>
/// <param name="ClassCounts">Images of each class, by class index (all of the experiment's classes, zeros included).</param>
public sealed record ShardSummary(string HospitalId, string Source, int Images, int Channels, int Height, int Width, IReadOnlyList<int> ClassCounts)
{
    /// <summary>The image shape as <c>C×H×W</c>.</summary>
    public string Shape => $"{Channels}×{Height}×{Width}";

    /// <summary>The summary of a shard that was read: its labels counted over <paramref name="classes"/> classes.</summary>
    /// <param name="hospitalId">The hospital.</param>
    /// <param name="source">Where its images come from.</param>
    /// <param name="shard">Its training images.</param>
    /// <param name="classes">The experiment's number of classes.</param>
    /// <exception cref="DataFormatException">A label lies outside 0 … <paramref name="classes"/> − 1.</exception>
    public static ShardSummary Of(string hospitalId, string source, ImageShard shard, int classes)
    {
        var counts = new int[classes];
        foreach (var label in shard.Labels)
        {
            if (label < 0 || label >= classes)
                throw new DataFormatException(source, "labels", $"{hospitalId} has an image of class {label}, outside 0 … {classes - 1}");
            counts[label]++;
        }
        return new ShardSummary(hospitalId, source, shard.Count, shard.Channels, shard.Height, shard.Width, counts);
    }
}
