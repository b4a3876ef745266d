using FedActors.Training.Data;
using FedActors.Training.Randomness;
using static TorchSharp.torch;

namespace FedActors.Training.Augmentations;

/// <summary>
/// FedMoCo's metadata-transfer augmentation (ALGORITHMS.md §1, ASSUMED form): with
/// probability p an image of site i is re-standardised to another site j's statistics,
/// x' = (x − μ_i)/σ_i · σ_j + μ_j, j uniform over the other sites. It simulates the other
/// hospitals' scanners without moving their images. Values are not clamped here, so the
/// target statistics hold exactly; the view augmentations that follow clamp to [0, 1].
/// </summary>
public sealed class CrossSiteRestandardisation
{
    private readonly SiteStatistics _own;
    private readonly SiteStatistics[] _others;

    /// <summary>Creates the augmentation for one site.</summary>
    /// <param name="own">The statistics of the site whose images are augmented; its standard deviation must be positive.</param>
    /// <param name="all">The statistics of all sites; entries with the own site's id are ignored, so it may include the own site.</param>
    /// <param name="probability">Chance, in [0, 1], that an image is re-standardised to another site.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="probability"/> is outside [0, 1].</exception>
    /// <exception cref="ArgumentException">The own site's standard deviation is zero.</exception>
    public CrossSiteRestandardisation(SiteStatistics own, IEnumerable<SiteStatistics> all, double probability)
    {
        if (probability < 0 || probability > 1) throw new ArgumentOutOfRangeException(nameof(probability), probability, "must be in [0, 1]");
        if (own.Std <= 0) throw new ArgumentException($"Site '{own.SiteId}' has zero intensity spread; cannot re-standardise its images.");
        _own = own;
        _others = all.Where(s => s.SiteId != own.SiteId).OrderBy(s => s.SiteId, StringComparer.Ordinal).ToArray();
        Probability = probability;
    }

    /// <summary>Chance, in [0, 1], that an image is re-standardised to another site's statistics; with no other site, none is.</summary>
    public double Probability { get; }

    /// <summary>
    /// Re-standardises each image of the batch, independently, to a randomly chosen other site's
    /// statistics with probability <see cref="Probability"/>; the rest pass unchanged.
    /// </summary>
    /// <param name="images">[B, 1, H, W] of the own site.</param>
    /// <param name="rng">Source of the per-image draws (whether to re-standardise, and to which site).</param>
    /// <returns>A new tensor of the same shape and device, unclamped; the caller disposes it. <paramref name="images"/> is not modified.</returns>
    public Tensor Apply(Tensor images, SeededRandom rng)
    {
        var b = (int)images.shape[0];
        var scale = new float[b];
        var shift = new float[b];
        for (var i = 0; i < b; i++)
        {
            var target = _others.Length > 0 && rng.NextDouble() < Probability ? _others[rng.NextInt(_others.Length)] : _own;
            scale[i] = (float)(target.Std / _own.Std);
            shift[i] = (float)(target.Mean - _own.Mean * target.Std / _own.Std);
        }
        using var s = tensor(scale, [b, 1, 1, 1], device: images.device);
        using var t = tensor(shift, [b, 1, 1, 1], device: images.device);
        return images * s + t;
    }
}
