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

    public CrossSiteRestandardisation(SiteStatistics own, IEnumerable<SiteStatistics> all, double probability)
    {
        if (probability < 0 || probability > 1) throw new ArgumentOutOfRangeException(nameof(probability), probability, "must be in [0, 1]");
        if (own.Std <= 0) throw new ArgumentException($"Site '{own.SiteId}' has zero intensity spread; cannot re-standardise its images.");
        _own = own;
        _others = all.Where(s => s.SiteId != own.SiteId).OrderBy(s => s.SiteId, StringComparer.Ordinal).ToArray();
        Probability = probability;
    }

    public double Probability { get; }

    /// <param name="images">[B, 1, H, W] of the own site.</param>
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
