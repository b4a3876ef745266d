using FedActors.Training.Objectives;
using FedActors.Training.Randomness;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace FedActors.Tests.Training.Objectives;

public class BalancedSoftmaxLossSpecs
{
    [Fact]
    public void Should_equal_a_hand_computed_value_with_an_absent_class_at_the_floor()
    {
        // Counts (3, 1, 0) → π = (0.75, 0.25, 1e-8). Logits (1, 2, 0.5), label 0.
        using var logPrior = BalancedSoftmaxLoss.LogPrior([3, 1, 0]);
        using var logits = tensor(new float[] { 1, 2, 0.5f }, [1, 3]);
        using var label = tensor(new long[] { 0 });
        var expected = -Math.Log(0.75 * Math.E / (0.75 * Math.E + 0.25 * Math.Exp(2) + 1e-8 * Math.Exp(0.5)));

        using var loss = BalancedSoftmaxLoss.Compute(logits, label, logPrior);
        Assert.Equal(expected, loss.item<float>(), 5);
        Assert.Equal(Math.Log(BalancedSoftmaxLoss.AbsentClassPrior), logPrior[2].item<float>(), 4);
    }

    [Fact]
    public void Should_equal_cross_entropy_on_logits_shifted_by_log_counts()
    {
        // The normalisation of π is a constant shift of every logit, which softmax ignores.
        long[] counts = [50, 7, 3, 1];
        using var generator = new Generator(1);
        using var logits = TorchDraws.Randn(generator, [6, 4]);
        using var labels = tensor(new long[] { 0, 1, 2, 3, 0, 1 });
        using var logCounts = tensor(counts.Select(c => (float)Math.Log(c)).ToArray());
        using var logPrior = BalancedSoftmaxLoss.LogPrior(counts);

        using var balanced = BalancedSoftmaxLoss.Compute(logits, labels, logPrior);
        using var shifted = F.cross_entropy(logits + logCounts, labels);
        Assert.Equal(shifted.item<float>(), balanced.item<float>(), 5);
    }

    [Fact]
    public void Should_equal_plain_cross_entropy_under_a_uniform_prior()
    {
        using var generator = new Generator(2);
        using var logits = TorchDraws.Randn(generator, [5, 3]);
        using var labels = tensor(new long[] { 0, 1, 2, 2, 1 });
        using var logPrior = BalancedSoftmaxLoss.LogPrior([4, 4, 4]);
        using var balanced = BalancedSoftmaxLoss.Compute(logits, labels, logPrior);
        using var plain = F.cross_entropy(logits, labels);
        Assert.Equal(plain.item<float>(), balanced.item<float>(), 5);
    }

    [Theory]
    [InlineData(new long[] { 0, 0 })]
    [InlineData(new long[] { 3, -1 })]
    [InlineData(new long[0])]
    public void Should_reject_counts_that_give_no_prior(long[] counts) =>
        Assert.Throws<ArgumentException>(() => BalancedSoftmaxLoss.LogPrior(counts));
}
