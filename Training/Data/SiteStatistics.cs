namespace FedActors.Training.Data;

/// <summary>
/// A site's intensity statistics, in [0, 1] grey units: what FedMoCo's metadata transfer
/// uploads once instead of images (a few bytes), plus an optional 256-bin histogram.
/// </summary>
/// <param name="SiteId">The site described.</param>
/// <param name="Mean">Mean pixel intensity over all images and channels, in [0, 1].</param>
/// <param name="Std">Population standard deviation of pixel intensity, in [0, 1] units.</param>
/// <param name="Histogram">Fraction of pixels at each byte value 0..255 (sums to 1), or <see langword="null"/> when not collected.</param>
public sealed record SiteStatistics(string SiteId, double Mean, double Std, double[]? Histogram = null)
{
    /// <summary>Computes the intensity statistics of every pixel of <paramref name="shard"/>.</summary>
    /// <param name="siteId">The site the shard belongs to.</param>
    /// <param name="shard">The site's images; must not be empty.</param>
    /// <param name="withHistogram">Also collect the 256-bin histogram (adds 1 KiB to the payload).</param>
    /// <exception cref="ArgumentException"><paramref name="shard"/> has no images.</exception>
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
