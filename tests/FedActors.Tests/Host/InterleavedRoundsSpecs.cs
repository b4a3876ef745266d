using FedActors.Host.Benchmarks;

namespace FedActors.Tests.Host;

public sealed class InterleavedRoundsSpecs
{
    [Fact]
    public void Should_give_the_order_statistics_interval_of_the_median()
    {
        // n = 10: P(B ≤ 1) = 11/1024 ≤ 0.025 < P(B ≤ 2) = 56/1024, so k = 2: [x(2), x(9)], coverage 1 − 22/1024.
        var interval = RatioInterval.Of([7.0, 1, 10, 3, 2, 9, 4, 8, 6, 5]);

        Assert.Equal(5.5, interval.Median, 12);
        Assert.Equal((2.0, 9.0), (interval.Low, interval.High));
        Assert.Equal(1 - 22.0 / 1024, interval.Coverage, 12);
        Assert.Equal(10, interval.Pairs);
    }

    [Theory]
    // n, P(B ≤ m) for m = 0..n by hand: C(n, i) / 2^n summed.
    [InlineData(5, 0, 1.0 / 32)]
    [InlineData(5, 2, 16.0 / 32)]
    [InlineData(6, 0, 1.0 / 64)]
    [InlineData(20, 5, 21700.0 / 1048576)] // 1 + 20 + 190 + 1140 + 4845 + 15504
    [InlineData(4, 4, 1.0)]
    public void Should_sum_the_binomial_half_distribution(int n, int m, double expected) =>
        Assert.Equal(expected, RatioInterval.BinomialHalfCdf(n, m), 12);

    [Fact]
    public void Should_fall_back_to_the_extremes_with_their_lower_coverage_when_pairs_are_few()
    {
        // n = 5: even the extremes cover the median with only 1 − 2/32 = 93.75 %; said, not hidden.
        var interval = RatioInterval.Of([1.2, 1.0, 1.1, 1.4, 1.3]);

        Assert.Equal(1.2, interval.Median, 12);
        Assert.Equal((1.0, 1.4), (interval.Low, interval.High));
        Assert.Equal(0.9375, interval.Coverage, 12);
        Assert.False(interval.IsUnder(1.3));
        Assert.True(interval.IsUnder(1.4));
    }

    private static TimedRounds Run(params double[] seconds) => new(seconds, "same");

    [Fact]
    public void Should_rotate_the_order_and_pair_rounds_within_each_block()
    {
        var calls = new List<string>();
        // A way's b-th run is block b's; block b is (1 + b) times slower than block 0 for every way alike.
        (string, Func<TimedRounds>) Way(string name, double factor)
        {
            var runs = 0;
            return (name, () => { calls.Add(name); var slow = 1 + runs++; return Run(9, factor * slow, 2 * factor * slow, 9); });
        }

        var result = InterleavedRounds.Compare(Way("bare", 1), [Way("actors", 1.1), Way("passivated", 1.5)],
            new InterleavingLimits(MinBlocks: 3, MaxBlocks: 3, Width: 0, TimeCap: TimeSpan.MaxValue), () => TimeSpan.Zero);

        // Each block runs every way once, starting one later each time.
        Assert.Equal(["bare", "actors", "passivated", "actors", "passivated", "bare", "passivated", "bare", "actors"], calls);
        // Ratios are round for round within a block: blocks that are slower throughout leave them unchanged.
        Assert.Equal(3, result.Blocks);
        Assert.All(result.Variants.Zip([1.1, 1.5]), v =>
        {
            Assert.Equal(6, v.First.Ratio.Pairs); // rounds 2 and 3 of each 4-round run, 3 blocks
            Assert.Equal(v.Second, v.First.Ratio.Low, 12);
            Assert.Equal(v.Second, v.First.Ratio.High, 12);
        });
        Assert.True(result.SameModel);
    }

    [Fact]
    public void Should_stop_when_intervals_are_narrow_enough_or_at_the_time_cap()
    {
        var steady = 0;
        var noisy = new[] { 1.0, 1.3, 0.9, 1.2, 1.0, 1.4, 0.8, 1.1, 1.3, 0.9 };
        (string, Func<TimedRounds>) Bare() => ("bare", () => Run(1, 1, 1, 1, 1));
        (string, Func<TimedRounds>) Steady() => ("steady", () => Run(1, 1.02, 1.02, 1.02, 1));
        (string, Func<TimedRounds>) Noisy() => ("noisy", () => { var r = noisy[steady++ % noisy.Length]; return Run(1, r, r, r, 1); });

        var narrow = InterleavedRounds.Compare(Bare(), [Steady()], new InterleavingLimits(2, 50, 0.05, TimeSpan.FromHours(1)), () => TimeSpan.Zero);
        Assert.Equal((2, "every interval at most 0.05 wide"), (narrow.Blocks, narrow.Stopped));

        var minutes = 0;
        var capped = InterleavedRounds.Compare(Bare(), [Noisy()], new InterleavingLimits(2, 50, 0.05, TimeSpan.FromMinutes(4)), () => TimeSpan.FromMinutes(++minutes));
        Assert.Equal(5, capped.Blocks); // the clock is read after blocks 2, 3, 4, 5 (not before the minimum): 1, 2, 3, 4 minutes
        Assert.StartsWith("the time cap", capped.Stopped);
        Assert.True(capped.Variants[0].Ratio.Width > 0.05);
    }

    [Fact]
    public void Should_refuse_runs_of_different_lengths() =>
        Assert.Contains("not the same work", Assert.Throws<InvalidOperationException>(() => InterleavedRounds.Compare(("bare", () => Run(1, 1, 1)),
            [("actors", () => Run(1, 1, 1, 1))], new InterleavingLimits(1, 1, 0, TimeSpan.MaxValue), () => TimeSpan.Zero)).Message);
}
