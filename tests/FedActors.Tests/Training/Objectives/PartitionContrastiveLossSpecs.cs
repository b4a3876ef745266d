using FedActors.Training.Objectives;
using static TorchSharp.torch;

namespace FedActors.Tests.Training.Objectives;

public class PartitionContrastiveLossSpecs
{
    private const double Tau = 0.5;

    private static PartitionedFeatures Features(float[] values, long[] partitions) =>
        new(tensor(values, [partitions.Length, values.Length / partitions.Length]), tensor(partitions));

    // −log(e^(s/τ) / (e^(s/τ) + Σ_n e^(n/τ)))
    private static double Term(double positive, params double[] negatives) =>
        -Math.Log(Math.Exp(positive / Tau) / (Math.Exp(positive / Tau) + negatives.Sum(n => Math.Exp(n / Tau))));

    // Queries q0 = (1, 0) in partition 0, q1 = (0, 1) in partition 1.
    private static PartitionedFeatures Queries() => Features([1, 0, 0, 1], [0, 1]);
    // Local bank l0 = (0.8, 0.6) p0, l1 = (0.6, 0.8) p1, l2 = (1, 0) p0.
    private static PartitionedFeatures Local() => Features([0.8f, 0.6f, 0.6f, 0.8f, 1, 0], [0, 1, 0]);
    // Remote features hold partition 0 only: r0 = (0.6, 0.8).
    private static PartitionedFeatures Remote() => Features([0.6f, 0.8f], [0]);
    // Q′ = local + remote.
    private static PartitionedFeatures Pool() => Features([0.8f, 0.6f, 0.6f, 0.8f, 1, 0, 0.6f, 0.8f], [0, 1, 0, 0]);

    [Fact]
    public void Should_equal_the_hand_computed_local_plus_remote_loss_over_two_partitions()
    {
        // L_local. q0: positives l0 (0.8), l2 (1); negatives of other partitions: l1 (0.6).
        //          q1: positive l1 (0.8); negatives l0 (0.6), l2 (0), r0 (0.8).
        var local = ((Term(0.8, 0.6) + Term(1, 0.6)) / 2 + Term(0.8, 0.6, 0, 0.8)) / 2;
        // L_remote. q0: positive r0 (0.6); negative l1 (0.6). q1: no remote feature of
        // partition 1, so it is left out of the mean.
        var remote = Term(0.6, 0.6);

        using var loss = PartitionContrastiveLoss.Compute(Queries(), Local(), Remote(), Pool(), Tau);
        using var localTerm = PartitionContrastiveLoss.Term(Queries(), Local(), Pool(), Tau);

        Assert.Equal(local, localTerm.item<float>(), 5);
        Assert.Equal(local + remote, loss.item<float>(), 5);
        Assert.Equal(Math.Log(2), remote, 10);
    }

    [Fact]
    public void Should_give_zero_with_a_usable_gradient_before_any_remote_features_arrive()
    {
        var queries = Queries() with { Features = tensor(new float[] { 1, 0, 0, 1 }, [2, 2]).requires_grad_() };
        var noRemote = new PartitionedFeatures(zeros(0, 2), zeros(0, dtype: ScalarType.Int64));

        using var remoteTerm = PartitionContrastiveLoss.Term(queries, noRemote, Pool(), Tau);
        Assert.Equal(0, remoteTerm.item<float>());

        PartitionContrastiveLoss.Compute(queries, Local(), noRemote, Local(), Tau).backward();
        Assert.True(queries.Features.grad!.isfinite().all().item<bool>());
        Assert.True(queries.Features.grad!.abs().sum().item<float>() > 0);
    }

    [Fact]
    public void Should_reduce_to_zero_loss_per_pair_when_no_negative_remains()
    {
        // Every candidate negative shares the query's partition: log(e^s / e^s) = 0.
        var queries = Features([1, 0], [0]) with { Features = tensor(new float[] { 1, 0 }, [1, 2]).requires_grad_() };
        var positives = Features([0.8f, 0.6f], [0]);
        using var loss = PartitionContrastiveLoss.Term(queries, positives, positives, Tau);
        loss.backward();
        Assert.Equal(0, loss.item<float>(), 6);
        Assert.True(queries.Features.grad!.isfinite().all().item<bool>());
    }

    [Fact]
    public void Should_reject_partition_ids_that_do_not_match_the_rows()
    {
        var wrong = new PartitionedFeatures(zeros(3, 2), tensor(new long[] { 0, 1 }));
        var e = Assert.Throws<ArgumentException>(() => PartitionContrastiveLoss.Term(Queries(), wrong, Pool(), Tau));
        Assert.Contains("positives", e.Message);
    }
}
