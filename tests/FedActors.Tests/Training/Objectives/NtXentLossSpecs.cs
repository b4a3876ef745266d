using FedActors.Training;
using FedActors.Training.Objectives;
using FedActors.Training.Randomness;
using static TorchSharp.torch;

namespace FedActors.Tests.Training.Objectives;

public class NtXentLossSpecs
{
    private static double Term(double positive, double tau, params double[] others) =>
        -Math.Log(Math.Exp(positive / tau) / (Math.Exp(positive / tau) + others.Sum(o => Math.Exp(o / tau))));

    [Fact]
    public void Should_equal_hand_computed_NT_Xent_over_four_views()
    {
        // a0 = (1, 0), a1 = (0, 1); their second views b0 = (0.6, 0.8), b1 = (0, 1). τ = 0.5.
        // Similarities: a0·a1 = 0, a0·b0 = 0.6, a0·b1 = 0, a1·b0 = 0.8, a1·b1 = 1, b0·b1 = 0.8.
        using var view1 = tensor(new float[] { 1, 0, 0, 1 }, [2, 2]);
        using var view2 = tensor(new float[] { 0.6f, 0.8f, 0, 1 }, [2, 2]);
        var expected = (Term(0.6, 0.5, 0, 0)      // a0: positive b0; others a1, b1
                      + Term(1, 0.5, 0, 0.8)      // a1: positive b1; others a0, b0
                      + Term(0.6, 0.5, 0.8, 0.8)  // b0: positive a0; others a1, b1
                      + Term(1, 0.5, 0, 0.8))     // b1: positive a1; others a0, b0
                     / 4;

        using var loss = NtXentLoss.Compute(view1, view2);
        Assert.Equal(expected, loss.item<float>(), 5);
    }

    [Fact]
    public void Should_normalise_its_inputs()
    {
        using var view1 = tensor(new float[] { 1, 0, 0, 1 }, [2, 2]);
        using var view2 = tensor(new float[] { 0.6f, 0.8f, 0, 1 }, [2, 2]);
        using var plain = NtXentLoss.Compute(view1, view2, 0.2);
        using var scaled = NtXentLoss.Compute(view1 * 3, view2 * 0.5, 0.2);
        Assert.Equal(plain.item<float>(), scaled.item<float>(), 5);
    }

    [Fact]
    public void Should_pass_finite_gradients_to_both_views()
    {
        using var generator = new Generator(1);
        using var view1 = TorchDraws.Randn(generator, [4, 8]).requires_grad_();
        using var view2 = TorchDraws.Randn(generator, [4, 8]).requires_grad_();
        NtXentLoss.Compute(view1, view2).backward();
        Assert.True(view1.grad!.isfinite().all().item<bool>());
        Assert.True(view2.grad!.abs().sum().item<float>() > 0);
    }
}
