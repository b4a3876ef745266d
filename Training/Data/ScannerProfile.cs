using FedActors.Training.Randomness;

namespace FedActors.Training.Data;

/// <summary>
/// How one site's scanner renders an ideal image: intensity gain and offset, contrast,
/// gamma, a linear bias field, blur, resolution and noise. Applied deterministically per
/// site, it makes the sites' image distributions differ the way real hospitals' do.
/// </summary>
/// <param name="Contrast">Gain about mid-grey: a value v becomes Contrast·(v − 0.5) + 0.5 (1 = unchanged).</param>
/// <param name="Brightness">Offset added after the contrast gain, in [0, 1] intensity units (0 = unchanged).</param>
/// <param name="Gamma">Exponent applied to the clamped intensity (1 = unchanged; above 1 darkens mid-tones).</param>
/// <param name="BiasStrength">Strength of a multiplicative linear bias field: the gain reaches 1 ± BiasStrength at the
/// image edges along <paramref name="BiasAngle"/> (0 = none).</param>
/// <param name="BiasAngle">Direction of the bias field's gradient, in radians.</param>
/// <param name="BlurSigma">Standard deviation of a separable Gaussian blur, in pixels (0.05 or less = no blur).</param>
/// <param name="NoiseStd">Standard deviation of additive Gaussian noise, in [0, 1] intensity units.</param>
/// <param name="ResolutionScale">Acquisition resolution relative to the image grid (1 = full;
/// 0.5 = acquired at half resolution and interpolated back up).</param>
public sealed record ScannerProfile(
    double Contrast, double Brightness, double Gamma,
    double BiasStrength, double BiasAngle, double BlurSigma, double NoiseStd, double ResolutionScale = 1.0)
{
    /// <summary>A scanner that changes nothing but rounding to bytes: no gain, offset, gamma, bias, blur, noise or resampling.</summary>
    public static ScannerProfile Identity { get; } = new(1, 0, 1, 0, 0, 0, 0);

    /// <summary>A random but plausible profile; <paramref name="severity"/> in [0, 1] scales the shift.</summary>
    public static ScannerProfile Draw(SeededRandom rng, double severity = 1.0) => new(
        Contrast: 1 + severity * rng.Uniform(-0.3, 0.3),
        Brightness: severity * rng.Uniform(-0.12, 0.12),
        Gamma: Math.Exp(severity * rng.Uniform(-0.35, 0.35)),
        BiasStrength: severity * rng.Uniform(0, 0.25),
        BiasAngle: rng.Uniform(0, 2 * Math.PI),
        BlurSigma: severity * rng.Uniform(0, 0.9),
        NoiseStd: severity * rng.Uniform(0.005, 0.05),
        ResolutionScale: 1 - severity * rng.Uniform(0, 0.3));

    /// <summary>
    /// The images of a real data set as this site's scanner would have shown them, plane by
    /// plane (every channel of an image gets the same transform); noise comes from <paramref name="noise"/>.
    /// </summary>
    public ImageShard Apply(ImageShard shard, SeededRandom noise)
    {
        var plane = shard.Height * shard.Width;
        var pixels = new byte[shard.Pixels.Length];
        var ideal = new double[plane];
        for (var p = 0; p < shard.Pixels.Length / plane; p++)
        {
            for (var i = 0; i < plane; i++) ideal[i] = shard.Pixels[p * plane + i] / 255.0;
            Render(ideal, shard.Height, shard.Width, noise, pixels.AsSpan(p * plane, plane));
        }
        return new ImageShard(shard.Channels, shard.Height, shard.Width, pixels, shard.Labels);
    }

    /// <summary>Renders an ideal image (values in [0, 1], row-major) to bytes through this scanner.</summary>
    public void Render(double[] ideal, int height, int width, SeededRandom noise, Span<byte> output)
    {
        var img = ResolutionScale < 0.999 ? Resample(ideal, height, width, ResolutionScale) : ideal;
        img = BlurSigma > 0.05 ? GaussianBlur(img, height, width, BlurSigma) : img;
        var (cx, cy) = (Math.Cos(BiasAngle), Math.Sin(BiasAngle));
        for (var y = 0; y < height; y++)
        for (var x = 0; x < width; x++)
        {
            var i = y * width + x;
            var u = (x + 0.5) / width - 0.5;
            var v = (y + 0.5) / height - 0.5;
            var value = img[i] * (1 + BiasStrength * 2 * (u * cx + v * cy));
            value = Contrast * (value - 0.5) + 0.5 + Brightness;
            value = Math.Pow(Math.Clamp(value, 0, 1), Gamma);
            value += NoiseStd * noise.NextGaussian();
            output[i] = (byte)Math.Round(Math.Clamp(value, 0, 1) * 255);
        }
    }

    /// <summary>Down to the acquisition grid and back up, both bilinear: detail finer than the scanner's resolution is lost.</summary>
    private static double[] Resample(double[] src, int height, int width, double scale)
    {
        var (h, w) = (Math.Max(2, (int)Math.Round(height * scale)), Math.Max(2, (int)Math.Round(width * scale)));
        var low = PlaneResampling.Bilinear(src.Select(v => (float)v).ToArray(), height, width, h, w);
        return PlaneResampling.Bilinear(low, h, w, height, width).Select(v => (double)v).ToArray();
    }

    private static double[] GaussianBlur(double[] src, int height, int width, double sigma)
    {
        var radius = Math.Max(1, (int)Math.Ceiling(2 * sigma));
        var kernel = new double[2 * radius + 1];
        for (var k = -radius; k <= radius; k++) kernel[k + radius] = Math.Exp(-k * k / (2 * sigma * sigma));
        var sum = kernel.Sum();
        for (var k = 0; k < kernel.Length; k++) kernel[k] /= sum;
        var tmp = new double[src.Length];
        var dst = new double[src.Length];
        for (var y = 0; y < height; y++)
        for (var x = 0; x < width; x++)
        {
            double acc = 0;
            for (var k = -radius; k <= radius; k++) acc += kernel[k + radius] * src[y * width + Math.Clamp(x + k, 0, width - 1)];
            tmp[y * width + x] = acc;
        }
        for (var y = 0; y < height; y++)
        for (var x = 0; x < width; x++)
        {
            double acc = 0;
            for (var k = -radius; k <= radius; k++) acc += kernel[k + radius] * tmp[Math.Clamp(y + k, 0, height - 1) * width + x];
            dst[y * width + x] = acc;
        }
        return dst;
    }
}
