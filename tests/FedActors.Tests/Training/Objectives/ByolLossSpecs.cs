using FedActors.Training.Objectives;
using static TorchSharp.torch;

namespace FedActors.Tests.Training.Objectives;

public class ByolLossSpecs
{
    // p = [(1, 0), (3, 4)], z = [(1, 1), (4, 3)]: cos = 1/√2 and 24/25.
    private static Tensor Predictions() => tensor(new float[] { 1, 0, 3, 4 }, [2, 2]);
    private static Tensor Targets() => tensor(new float[] { 1, 1, 4, 3 }, [2, 2]);

    [Fact]
    public void Should_give_two_minus_twice_the_cosine_per_sample_and_its_mean()
    {
        using var p = Predictions();
        using var z = Targets();
        using var perSample = ByolLoss.PerSample(p, z);
        using var mean = ByolLoss.Compute(p, z);

        Assert.Equal(2 - Math.Sqrt(2), perSample[0].item<float>(), 5);
        Assert.Equal(2 - 48.0 / 25, perSample[1].item<float>(), 5);
        Assert.Equal((2 - Math.Sqrt(2) + 2 - 48.0 / 25) / 2, mean.item<float>(), 5);
    }

    [Fact]
    public void Should_sum_both_directions_when_symmetrised()
    {
        // View 1: p1 = (1, 0) vs z2 = (0, 1): 2. View 2: p2 = (1, 1) vs z1 = (1, 0): 2 − √2.
        using var p1 = tensor(new float[] { 1, 0 }, [1, 2]);
        using var z2 = tensor(new float[] { 0, 1 }, [1, 2]);
        using var p2 = tensor(new float[] { 1, 1 }, [1, 2]);
        using var z1 = tensor(new float[] { 1, 0 }, [1, 2]);
        using var loss = ByolLoss.Symmetrised(p1, z2, p2, z1);
        Assert.Equal(2 + 2 - Math.Sqrt(2), loss.item<float>(), 5);
    }

    [Fact]
    public void Should_train_the_online_side_only()
    {
        using var p = Predictions().requires_grad_();
        using var z = Targets().requires_grad_();
        ByolLoss.Compute(p, z).backward();
        Assert.True(p.grad!.abs().sum().item<float>() > 0);
        Assert.Null(z.grad);
    }
}
