namespace FedActors.Training.Data;

/// <summary>
/// A site's intensity statistics, in [0, 1] grey units: what FedMoCo's metadata transfer
/// uploads once instead of images (a few bytes), plus an optional 256-bin histogram.
/// </summary>
public sealed record SiteStatistics(string SiteId, double Mean, double Std, double[]? Histogram = null)
{
    public static SiteStatistics Of(string siteId, ImageShard shard, bool withHistogram = false)
    {
        if (shard.Count == 0) throw new ArgumentException($"Site '{siteId}' has no images to describe.");
        var counts = new long[256];
        foreach (var b in shard.Pixels) counts[b]++;
        double n = shard.Pixels.Length, sum = 0, sumSq = 0;
        for (var v = 0; v < 256; v++)
        {
            var x = v / 255.0;
            sum += counts[v] * x;
            sumSq += counts[v] * x * x;
        }
        var mean = sum / n;
        var std = Math.Sqrt(Math.Max(0, sumSq / n - mean * mean));
        return new SiteStatistics(siteId, mean, std, withHistogram ? counts.Select(c => c / n).ToArray() : null);
    }

    /// <summary>Bytes this costs on the wire (mean, std and the histogram if present, as float32).</summary>
    public long PayloadBytes => sizeof(float) * (2 + (Histogram?.Length ?? 0));
}
