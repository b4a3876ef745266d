namespace FedActors.Training.Sites;

/// <summary>
/// FCL's slice-position partitions (ALGORITHMS.md §2): a volume's slices along its depth
/// axis are split into S contiguous, nearly equal groups; a slice's partition index travels
/// with it and decides its positives (same partition) and negatives (other partitions).
/// </summary>
public static class SlicePartitions
{
    /// <summary>The partition of slice <paramref name="slice"/>: ⌊slice · S / depth⌋, in [0, S).</summary>
    /// <param name="slice">Slice index along the depth axis, 0 ≤ slice &lt; depth.</param>
    /// <param name="depth">Number of slices in the volume; at least <paramref name="partitions"/>.</param>
    /// <param name="partitions">Number of partitions S; at least 1.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="partitions"/> is below 1 or <paramref name="slice"/> is outside the volume.</exception>
    /// <exception cref="ArgumentException"><paramref name="depth"/> is smaller than <paramref name="partitions"/>.</exception>
    public static int Of(int slice, int depth, int partitions)
    {
        if (partitions < 1) throw new ArgumentOutOfRangeException(nameof(partitions), partitions, "at least one partition");
        if (depth < partitions) throw new ArgumentException($"A volume of {depth} slices cannot be split into {partitions} partitions.");
        if (slice < 0 || slice >= depth) throw new ArgumentOutOfRangeException(nameof(slice), slice, $"slice index in [0, {depth})");
        return (int)((long)slice * partitions / depth);
    }

    /// <summary>Partition of every slice of a volume of <paramref name="depth"/> slices.</summary>
    public static int[] All(int depth, int partitions) =>
        Enumerable.Range(0, depth).Select(z => Of(z, depth, partitions)).ToArray();
}
