using FedActors.Training.Randomness;
using TorchSharp;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace FedActors.Training.Augmentations;

/// <summary>Ranges of the augmentations of ALGORITHMS.md §0 (grey or colour images).</summary>
public sealed record AugmentationOptions
{
    /// <summary>Smallest crop area as a fraction of the image, in (0, 1]; areas are drawn uniformly from [this, 1]. Default 0.2; config key <c>fedactors.augmentation.min-crop-scale</c>.</summary>
    public double MinCropScale { get; init; } = 0.2;
    /// <summary>Crop aspect ratios are drawn log-uniformly from [1/r, r].</summary>
    public double MaxAspectRatio { get; init; } = 4.0 / 3;
    /// <summary>Largest rotation in degrees; angles are drawn uniformly from [−this, this]. Default 10; key <c>fedactors.augmentation.max-rotation-degrees</c>.</summary>
    public double MaxRotationDegrees { get; init; } = 10;
    /// <summary>Chance of a horizontal flip. Default 0.5; key <c>fedactors.augmentation.flip-probability</c>.</summary>
    public double FlipProbability { get; init; } = 0.5;
    /// <summary>Chance that an image gets the contrast and brightness jitter. Default 0.8; key <c>fedactors.augmentation.intensity-probability</c>.</summary>
    public double IntensityProbability { get; init; } = 0.8;
    /// <summary>Largest relative contrast change about the image's mean: the factor is drawn from 1 ± this. Default 0.4; key <c>fedactors.augmentation.max-contrast-change</c>.</summary>
    public double MaxContrastChange { get; init; } = 0.4;
    /// <summary>Largest brightness offset in [0, 1] intensity units, drawn from ± this. Default 0.2; key <c>fedactors.augmentation.max-brightness-change</c>.</summary>
    public double MaxBrightnessChange { get; init; } = 0.2;
    /// <summary>Chance of a gamma change. Default 0.5; key <c>fedactors.augmentation.gamma-probability</c>.</summary>
    public double GammaProbability { get; init; } = 0.5;
    /// <summary>Largest |ln γ|: the exponent is exp of a value drawn from ± this. Default 0.4; key <c>fedactors.augmentation.max-log-gamma</c>.</summary>
    public double MaxLogGamma { get; init; } = 0.4;
    /// <summary>Chance of a Gaussian blur (5×5 kernel). Default 0.5; key <c>fedactors.augmentation.blur-probability</c>.</summary>
    public double BlurProbability { get; init; } = 0.5;
    /// <summary>Largest blur standard deviation in pixels; σ is drawn from [0.1, this]. Default 1.2; key <c>fedactors.augmentation.max-blur-sigma</c>.</summary>
    public double MaxBlurSigma { get; init; } = 1.2;
    /// <summary>Chance of additive Gaussian noise. Default 0.5; key <c>fedactors.augmentation.noise-probability</c>.</summary>
    public double NoiseProbability { get; init; } = 0.5;
    /// <summary>Largest noise standard deviation in [0, 1] intensity units; σ is drawn from [0, this]. Default 0.05; key <c>fedactors.augmentation.max-noise-std</c>.</summary>
    public double MaxNoiseStd { get; init; } = 0.05;
}

/// <summary>
/// Batched random views of grey images, on the images' device: random resized crop,
/// flip and rotation in one affine resampling, then contrast/brightness, gamma, blur
/// and noise. Every per-image parameter is drawn from the caller's <see cref="SeededRandom"/>,
/// so a view depends only on that generator's position.
/// </summary>
/// <param name="options">The ranges and probabilities views are drawn with.</param>
public sealed class ViewAugmenter(AugmentationOptions options)
{
    private const int BlurKernel = 5;

    // The clamp's bounds as held Scalars, never finalised (numbers converted at the call can be freed mid-call: ScalarSafeSgd).
    private static readonly Scalar Black = 0.ToScalar(), White = 1.ToScalar();

    /// <summary>The ranges and probabilities the views are drawn with, as given to the constructor.</summary>
    public AugmentationOptions Options { get; } = options;

    /// <summary>Draws one random view of every image in the batch.</summary>
    /// <param name="images">[B, 1, H, W] in [0, 1].</param>
    /// <param name="rng">Source of every per-image parameter and of the noise seed.</param>
    /// <returns>A new tensor of the same shape in [0, 1] on the images' device; the caller disposes it. <paramref name="images"/> is not modified.</returns>
    public Tensor Augment(Tensor images, SeededRandom rng)
    {
        using var scope = NewDisposeScope();
        var device = images.device;
        var b = (int)images.shape[0];
        var o = Options;

        var theta = new float[b * 6];
        for (var i = 0; i < b; i++)
        {
            var area = rng.Uniform(o.MinCropScale, 1);
            var logRatio = rng.Uniform(-Math.Log(o.MaxAspectRatio), Math.Log(o.MaxAspectRatio));
            var sx = Math.Min(1, Math.Sqrt(area * Math.Exp(logRatio)));
            var sy = Math.Min(1, Math.Sqrt(area / Math.Exp(logRatio)));
            var tx = rng.Uniform(-(1 - sx), 1 - sx);
            var ty = rng.Uniform(-(1 - sy), 1 - sy);
            var flip = rng.NextDouble() < o.FlipProbability ? -1.0 : 1.0;
            var angle = rng.Uniform(-o.MaxRotationDegrees, o.MaxRotationDegrees) * Math.PI / 180;
            var (c, s) = (Math.Cos(angle), Math.Sin(angle));
            // input coordinate = R · diag(flip·sx, sy) · output coordinate + t
            theta[i * 6 + 0] = (float)(c * flip * sx); theta[i * 6 + 1] = (float)(-s * sy); theta[i * 6 + 2] = (float)tx;
            theta[i * 6 + 3] = (float)(s * flip * sx); theta[i * 6 + 4] = (float)(c * sy); theta[i * 6 + 5] = (float)ty;
        }
        var grid = F.affine_grid(tensor(theta, [b, 2, 3], device: device), images.shape, align_corners: false);
        var x = F.grid_sample(images, grid, GridSampleMode.Bilinear, GridSamplePaddingMode.Reflection, align_corners: false);

        var contrast = new float[b];
        var brightness = new float[b];
        var gamma = new float[b];
        var noise = new float[b];
        for (var i = 0; i < b; i++)
        {
            var jitter = rng.NextDouble() < o.IntensityProbability;
            contrast[i] = (float)(jitter ? 1 + rng.Uniform(-o.MaxContrastChange, o.MaxContrastChange) : 1);
            brightness[i] = (float)(jitter ? rng.Uniform(-o.MaxBrightnessChange, o.MaxBrightnessChange) : 0);
            gamma[i] = (float)(rng.NextDouble() < o.GammaProbability ? Math.Exp(rng.Uniform(-o.MaxLogGamma, o.MaxLogGamma)) : 1);
            noise[i] = (float)(rng.NextDouble() < o.NoiseProbability ? rng.Uniform(0, o.MaxNoiseStd) : 0);
        }
        var mean = x.mean([1, 2, 3], keepdim: true);
        x = (x - mean) * PerImage(contrast, device) + mean + PerImage(brightness, device);
        x = x.clamp(Black, White).pow(PerImage(gamma, device));

        x = Blur(x, rng);

        using var generator = new Generator(rng.NextUInt64() >> 1, device);
        x = x + TorchDraws.Randn(generator, x.shape, device: device) * PerImage(noise, device);
        return x.clamp_(Black, White).MoveToOuterDisposeScope();
    }

    /// <summary>Per-image Gaussian blur as one grouped convolution (identity kernel where not blurred).</summary>
    private Tensor Blur(Tensor x, SeededRandom rng)
    {
        var (b, c, h, w) = ((int)x.shape[0], (int)x.shape[1], x.shape[2], x.shape[3]);
        var kernels = new float[b * BlurKernel * BlurKernel];
        const int r = BlurKernel / 2;
        for (var i = 0; i < b; i++)
        {
            var blurred = rng.NextDouble() < Options.BlurProbability;
            var sigma = blurred ? rng.Uniform(0.1, Options.MaxBlurSigma) : 0;
            var k = kernels.AsSpan(i * BlurKernel * BlurKernel, BlurKernel * BlurKernel);
            if (sigma <= 0) { k[r * BlurKernel + r] = 1; continue; }
            double sum = 0;
            for (var dy = -r; dy <= r; dy++)
            for (var dx = -r; dx <= r; dx++)
                sum += k[(dy + r) * BlurKernel + dx + r] = (float)Math.Exp(-(dx * dx + dy * dy) / (2 * sigma * sigma));
            for (var j = 0; j < k.Length; j++) k[j] = (float)(k[j] / sum);
        }
        // One kernel per image, shared by its channels: each (image, channel) plane is a group.
        var weight = tensor(kernels, [b, 1, BlurKernel, BlurKernel], device: x.device).repeat_interleave(c, dim: 0);
        var padded = F.pad(x.reshape(1, b * c, h, w), [r, r, r, r], PaddingModes.Reflect);
        return F.conv2d(padded, weight, groups: b * c).reshape(b, c, h, w);
    }

    private static Tensor PerImage(float[] values, Device device) =>
        tensor(values, [values.Length, 1, 1, 1], device: device);
}
