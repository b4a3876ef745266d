using FedActors.Training.Objectives;
using static TorchSharp.torch;

namespace FedActors.Tests.Training;

public class ContrastiveLossSpecs
{
    [Fact]
    public void Should_equal_hand_computed_InfoNCE_on_a_tiny_case()
    {
        // Two 2-d queries, their positive keys, two queue negatives, τ = 0.5.
        using var q = tensor(new float[] { 1, 0, 0, 1 }, [2, 2]);
        using var k = tensor(new float[] { 0.6f, 0.8f, 0, 1 }, [2, 2]);
        using var queue = tensor(new float[] { -1, 0, 0.8f, 0.6f }, [2, 2]);

        // Query 0: q·k⁺ = 0.6; negatives q·n = −1, 0.8.  Query 1: q·k⁺ = 1; negatives 0, 0.6.
        static double Term(double pos, double n1, double n2, double tau) =>
            -Math.Log(Math.Exp(pos / tau) / (Math.Exp(pos / tau) + Math.Exp(n1 / tau) + Math.Exp(n2 / tau)));
        var expected = (Term(0.6, -1, 0.8, 0.5) + Term(1, 0, 0.6, 0.5)) / 2;

        using var loss = ContrastiveLosses.InfoNce(q, k, queue, 0.5);
        Assert.Equal(expected, loss.item<float>(), 5);
    }

    [Fact]
    public void Should_reject_a_non_positive_temperature()
    {
        using var q = ones(1, 2);
        Assert.Throws<ArgumentOutOfRangeException>(() => ContrastiveLosses.InfoNce(q, q, q, 0));
    }
}
