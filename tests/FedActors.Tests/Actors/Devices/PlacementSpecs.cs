using FedActors.Actors.Devices;

namespace FedActors.Tests.Actors.Devices;

public sealed class PlacementSpecs
{
    // Training samples of six skewed sites, arriving smallest first: the worst case for first come, first served.
    private static readonly double[] Ascending = [351, 655, 1807, 2691, 3163, 9930];

    [Fact]
    public void Should_take_the_longest_predicted_first_and_the_unmeasured_before_all()
    {
        var placement = new Placement(PlacementOrder.LongestFirst);
        placement.Observe("small", 1);
        placement.Observe("big", 5);
        placement.Observe("mid", 3);

        Assert.Equal(1, placement.Next(["small", "big", "mid"]));
        Assert.Equal(2, placement.Next(["small", "mid", "new"])); // never measured: first, to be measured early
        Assert.Equal(0, placement.Next(["mid", "mid"])); // ties keep arrival order
        Assert.Equal(0, new Placement(PlacementOrder.Arrival).Next(["small", "big"]));
    }

    [Fact]
    public void Should_predict_from_an_exponential_average_of_past_leases()
    {
        var placement = new Placement(PlacementOrder.LongestFirst, smoothing: 0.5);
        Assert.Null(placement.Predicted("a"));
        placement.Observe("a", 4);
        placement.Observe("a", 2);
        placement.Observe("a", double.NaN); // a broken clock reading teaches nothing
        Assert.Equal(3, placement.Predicted("a")); // 0.5 · 2 + 0.5 · 4
    }

    [Theory]
    // By hand, arrival order on 2 slots: 351 | 655, then 1807 at 351 (→ 2158), 2691 at 655 (→ 3346), 3163 at 2158
    // (→ 5321), 9930 at 3346 (→ 13276). Longest first: 9930 on one slot, the other five (8667) on the other.
    [InlineData(2, 13276, 9930)]
    // 4 slots: 351, 655, 1807, 2691 start; 3163 at 351 (→ 3514), 9930 at 655 (→ 10585). Longest first: 9930.
    [InlineData(4, 10585, 9930)]
    [InlineData(8, 9930, 9930)]
    public void Should_compute_the_makespan_of_a_round_that_starts_every_site_at_once(int slots, double arrival, double longestFirst)
    {
        Assert.Equal(arrival, Placement.Makespan(PlacementOrder.Arrival, Ascending, slots));
        Assert.Equal(longestFirst, Placement.Makespan(PlacementOrder.LongestFirst, Ascending, slots));
    }
}
