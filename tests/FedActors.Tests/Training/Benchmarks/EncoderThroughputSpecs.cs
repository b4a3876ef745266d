using FedActors.Training.Benchmarks;
using FedActors.Training.Models;

namespace FedActors.Tests.Training.Benchmarks;

public class EncoderThroughputSpecs
{
    [Fact]
    public void Should_measure_a_tiny_configuration_and_report_positive_numbers()
    {
        ThroughputCase[] cases =
        [
            new("resnet18-thin", 16, 2, () => new ResNet18Encoder(ResNetStem.SmallImage, widthMultiplier: 0.0625)),
            new("unet2d-thin", 16, 2, () => new UNet2D(new UNetEncoder(8, 2), classes: 2)),
        ];
        var rows = EncoderThroughput.Run(cases, warmupSteps: 0, measuredSteps: 1);

        Assert.Equal(["resnet18-thin", "unet2d-thin"], rows.Select(r => r.Model));
        Assert.All(rows, r => Assert.True(r.ImagesPerSecond > 0 && r.PeakMemoryMb > 0, r.ToString()));
    }

    [Fact]
    public void Should_offer_every_standard_model_at_every_batch_size()
    {
        var cases = EncoderThroughput.StandardCases([4, 16]);
        Assert.Equal(14, cases.Count);
        Assert.Contains(cases, c => c.Model == "resnet18" && c.ImageSize == 64 && c.BatchSize == 16);
    }
}
