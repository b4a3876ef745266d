using FedActors.Training;
using FedActors.Training.Models;
using FedActors.Training.Randomness;
using TorchSharp;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace FedActors.Tests.Training;

/// <summary>
/// Every convolution the models run on the CPU, against the same computation in float64 (which libtorch never
/// hands to oneDNN): the forward pass, the input gradient and every parameter gradient, and bitwise the same
/// on a second run. oneDNN's JIT kernels returned garbage here for channel counts off their block size (see
/// <see cref="TorchRuntime.CpuConvolutions"/>); these specs fail on such a backend.
/// </summary>
public sealed class ConvolutionExactnessSpecs
{
    // Float32 against float64 over a whole network: accumulated rounding stays near 1e-5 relative;
    // the broken kernels were off by 0.3 to 1 (or NaN).
    private const double Tolerance = 1e-3;

    [Fact]
    public void Should_run_cpu_convolutions_on_libtorch_rather_than_oneDNN()
    {
        Assert.Equal("libtorch", TorchRuntime.CpuConvolutions);
        Assert.False(TorchRuntime.OneDnnEnabled);
    }

    public static TheoryData<string> Models => new(ModelCases.Keys);

    private static readonly Dictionary<string, (int Channels, int Size, Func<nn.Module<Tensor, Tensor>> Create)> ModelCases = new()
    {
        ["small-cnn 32-64-128-128 @32, grey"] = (1, 32, () => new SmallCnnEncoder([32, 64, 128, 128])),
        ["small-cnn 32-64-128-128 @32, colour"] = (3, 32, () => new SmallCnnEncoder([32, 64, 128, 128], inChannels: 3)),
        ["small-cnn 8-16-24-40 @32"] = (1, 32, () => new SmallCnnEncoder([8, 16, 24, 40])),
        ["resnet18 x0.25 @32"] = (1, 32, () => new ResNet18Encoder(ResNet18Encoder.StemFor(32), 0.25)),
        ["resnet18 x0.25 @64, colour"] = (3, 64, () => new ResNet18Encoder(ResNet18Encoder.StemFor(64), 0.25, inChannels: 3)),
        ["unet2d 4x2, 4 classes @32"] = (1, 32, () => new UNet2D(new UNetEncoder(4, 2), 4)),
        ["unet2d 16x3, 4 classes @64"] = (1, 64, () => new UNet2D(new UNetEncoder(16, 3), 4)),
        ["unet2d 12x2, 2 classes @32"] = (1, 32, () => new UNet2D(new UNetEncoder(12, 2), 2)),
    };

    [Theory]
    [MemberData(nameof(Models))]
    public void Should_train_each_model_as_float64_does_and_the_same_twice(string model)
    {
        var (channels, size, create) = ModelCases[model];
        using var gen = new Generator(17);
        using var images = TorchDraws.Randn(gen, [4, channels, size, size]);
        var (output, inputGradient, gradients) = Pass(create, images, ScalarType.Float32, gen.get_state());
        var again = Pass(create, images, ScalarType.Float32, gen.get_state());
        var exact = Pass(create, images, ScalarType.Float64, gen.get_state());

        AssertClose($"{model}: output", exact.Output, output);
        AssertClose($"{model}: input gradient", exact.InputGradient, inputGradient);
        foreach (var (name, g) in gradients) AssertClose($"{model}: gradient of {name}", exact.Gradients[name], g);

        AssertBitwise($"{model}: output", output, again.Output);
        AssertBitwise($"{model}: input gradient", inputGradient, again.InputGradient);
        foreach (var (name, g) in gradients) AssertBitwise($"{model}: gradient of {name}", g, again.Gradients[name]);
    }

    public static TheoryData<int, int, int, int, bool> Layers()
    {
        var data = new TheoryData<int, int, int, int, bool>();
        int[] counts = [1, 2, 3, 4, 8, 12, 16, 20];
        foreach (var cin in counts)
        foreach (var cout in counts)
            data.Add(cin, cout, 3, 1, false);
        foreach (var (cin, cout) in new[] { (32, 4), (16, 2), (12, 20), (8, 16) })
        {
            data.Add(cin, cout, 1, 1, false);
            data.Add(cin, cout, 3, 2, false);
            data.Add(cin, cout, 2, 2, true);
        }
        return data;
    }

    [Theory]
    [MemberData(nameof(Layers))]
    public void Should_compute_each_convolution_shape_exactly(int inChannels, int outChannels, int kernel, int stride, bool transposed)
    {
        using var scope = NewDisposeScope();
        using var gen = new Generator(29);
        var input = TorchDraws.Randn(gen, [16, inChannels, 16, 16]); // 16: where libtorch would try NNPACK
        var weight = 0.2 * (transposed ? TorchDraws.Randn(gen, [inChannels, outChannels, kernel, kernel]) : TorchDraws.Randn(gen, [outChannels, inChannels, kernel, kernel]));
        var padding = kernel == 3 ? 1 : 0;
        Tensor Layer(Tensor x, Tensor w) => transposed
            ? F.conv_transpose2d(x, w, strides: [stride, stride])
            : F.conv2d(x, w, strides: [stride, stride], padding: [padding, padding]);
        var upstream = TorchDraws.Randn(gen, Layer(input, weight).shape);

        (Tensor Y, Tensor Dx, Tensor Dw) Run(ScalarType type)
        {
            var x = input.to(type).clone().requires_grad_(); // a leaf of its own: to() returns the input itself when the type matches
            var w = weight.to(type).clone().requires_grad_();
            var y = Layer(x, w);
            y.backward([upstream.to(type)]);
            return (y.detach(), x.grad!.detach(), w.grad!.detach());
        }

        var single = Run(ScalarType.Float32);
        var twice = Run(ScalarType.Float32);
        var exact = Run(ScalarType.Float64);
        var shape = $"{(transposed ? "transposed " : "")}{kernel}×{kernel}/{stride} conv {inChannels}→{outChannels}";
        AssertClose($"{shape}: output", exact.Y, single.Y);
        AssertClose($"{shape}: input gradient", exact.Dx, single.Dx);
        AssertClose($"{shape}: weight gradient", exact.Dw, single.Dw);
        AssertBitwise($"{shape}: output", single.Y, twice.Y);
        AssertBitwise($"{shape}: input gradient", single.Dx, twice.Dx);
        AssertBitwise($"{shape}: weight gradient", single.Dw, twice.Dw);
    }

    /// <summary>One training pass in <paramref name="type"/>: a fresh seeded model, an upstream gradient drawn from <paramref name="state"/>.</summary>
    private static (Tensor Output, Tensor InputGradient, Dictionary<string, Tensor> Gradients) Pass(
        Func<nn.Module<Tensor, Tensor>> create, Tensor images, ScalarType type, Tensor state)
    {
        var model = TorchRuntime.Seeded(5, create);
        try
        {
            model.to(type);
            model.train();
            var x = images.to(type).clone().requires_grad_(); // a leaf of its own: to() returns the input itself when the type matches
            var output = model.forward(x);
            using var gen = new Generator(0);
            gen.set_state(state);
            var upstream = TorchDraws.Randn(gen, output.shape).to(type);
            (output * upstream).sum().backward();
            var gradients = model.named_parameters().ToDictionary(p => p.name, p => p.parameter.grad!.detach().clone());
            return (output.detach(), x.grad!.detach(), gradients);
        }
        finally
        {
            model.DisposeTree();
        }
    }

    private static void AssertClose(string what, Tensor exact, Tensor single)
    {
        var reference = exact.abs().max().item<double>();
        var error = (single.to(ScalarType.Float64) - exact).abs().max().item<double>();
        Assert.True(error <= Tolerance * Math.Max(reference, 1e-12),
            $"{what} differs from float64 by {error:g3} (largest magnitude {reference:g3}) on CPU convolutions by {TorchRuntime.CpuConvolutions}");
    }

    private static void AssertBitwise(string what, Tensor first, Tensor second) =>
        Assert.True(first.bytes.SequenceEqual(second.bytes), $"{what} differs between two identical runs");
}
