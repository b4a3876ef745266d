using FedActors.Training.Randomness;
using FedActors.Training.Sites;

namespace FedActors.Tests.Training.Sites;

public class PartitionerSpecs
{
    private static readonly int[] Labels = Enumerable.Range(0, 1000).Select(i => i % 4).ToArray();

    private static void AssertExactCover(int[][] parts, int count)
    {
        var all = parts.SelectMany(p => p).Order().ToArray();
        Assert.Equal(Enumerable.Range(0, count), all);
    }

    [Fact]
    public void Should_deal_iid_sites_of_equal_size_and_mixed_labels()
    {
        var parts = Partitioners.Iid(1000, 8, new SeededRandom(1));
        AssertExactCover(parts, 1000);
        Assert.All(parts, p => Assert.InRange(p.Length, 125, 125));
        Assert.All(parts, p => Assert.Equal(4, p.Select(i => Labels[i]).Distinct().Count()));
    }

    [Fact]
    public void Should_skew_labels_more_as_alpha_shrinks_and_stay_reproducible()
    {
        double MeanMaxClassShare(double alpha) => Partitioners.DirichletLabelSkew(Labels, 8, alpha, new SeededRandom(2))
            .Average(p => p.GroupBy(i => Labels[i]).Max(g => g.Count()) / (double)p.Length);

        var skewed = Partitioners.DirichletLabelSkew(Labels, 8, 0.1, new SeededRandom(2));
        AssertExactCover(skewed, 1000);
        Assert.Equal(skewed, Partitioners.DirichletLabelSkew(Labels, 8, 0.1, new SeededRandom(2)));
        Assert.True(MeanMaxClassShare(0.1) > 0.7, $"α=0.1 should leave sites dominated by one class, got {MeanMaxClassShare(0.1):F2}");
        Assert.True(MeanMaxClassShare(100) < 0.35, $"α=100 should be near IID, got {MeanMaxClassShare(100):F2}");
    }

    [Fact]
    public void Should_give_power_law_site_sizes_with_a_guaranteed_minimum()
    {
        var parts = Partitioners.PowerLawQuantitySkew(1000, 6, 1.5, new SeededRandom(3), minPerSite: 10);
        AssertExactCover(parts, 1000);
        var sizes = parts.Select(p => p.Length).OrderDescending().ToArray();
        Assert.All(sizes, s => Assert.True(s >= 10));
        Assert.True(sizes[0] > 4 * sizes[^1], $"sizes {string.Join(",", sizes)} are not skewed");
    }

    [Fact]
    public void Should_split_proportionally_to_given_site_sizes()
    {
        double[] flamby = [9930, 3163, 2691, 1807, 655, 351];
        var parts = Partitioners.Proportional(1859, flamby, new SeededRandom(4), minPerSite: 0);
        AssertExactCover(parts, 1859);
        var expected = flamby.Select(w => w / flamby.Sum() * 1859).ToArray();
        for (var s = 0; s < 6; s++) Assert.InRange(parts[s].Length, expected[s] - 1, expected[s] + 1);
    }

    [Fact]
    public void Should_keep_site_sizes_proportional_while_skewing_each_sites_labels()
    {
        double[] weights = [9930, 3163, 2691, 1807, 655, 351];
        double[] prior = [0.5, 0.25, 0.15, 0.1];
        int[] totals = [5000, 2500, 1500, 1000];

        var shares = Partitioners.SizedLabelSkew(weights, prior, alpha: 0.5, new SeededRandom(3));
        var counts = Partitioners.CountsOf(totals, shares);

        Assert.All(shares, row => Assert.Equal(1, row.Sum(), 9));
        // Every image dealt once per class; each site's size within 1 % of its weight's share of 10,000.
        for (var c = 0; c < totals.Length; c++) Assert.Equal(totals[c], counts.Sum(site => site[c]));
        for (var i = 0; i < weights.Length; i++) Assert.InRange(counts[i].Sum(), 10_000 * weights[i] / weights.Sum() - 100, 10_000 * weights[i] / weights.Sum() + 100);
        // Skewed: the sites' label mixes differ from the pool's (class 0 is half the pool), unlike without skew.
        var classZero = counts.Select(site => site[0] / (double)site.Sum()).ToList();
        Assert.True(classZero.Max() - classZero.Min() > 0.2, $"class-0 shares {string.Join(", ", classZero)}");
        var even = Partitioners.CountsOf(totals, Partitioners.SizedLabelSkew(weights, prior, alpha: null, new SeededRandom(3)));
        Assert.All(even, site => Assert.InRange(site[0] / (double)site.Sum(), 0.49, 0.51));
    }

    [Fact]
    public void Should_deal_every_sample_once_by_the_counts_and_refuse_counts_that_do_not_add_up()
    {
        int[] labels = [0, 1, 0, 2, 1, 0, 2, 2, 0];
        int[][] counts = [[3, 1, 0], [1, 1, 3]];

        var sites = Partitioners.Deal(labels, counts, new SeededRandom(5));

        Assert.Equal(Enumerable.Range(0, labels.Length), sites.SelectMany(s => s).Order());
        Assert.Equal([3, 1, 0], Enumerable.Range(0, 3).Select(c => sites[0].Count(i => labels[i] == c)));
        Assert.Throws<ArgumentException>(() => Partitioners.Deal(labels, [[3, 1, 0], [1, 1, 2]], new SeededRandom(5)));
    }

    [Fact]
    public void Should_group_by_given_site_labels_and_name_an_unknown_site()
    {
        string[] centre = ["b", "a", "b", "c", "a"];
        var parts = Partitioners.BySiteLabel(centre, ["a", "b", "c"]);
        Assert.Equal([[1, 4], [0, 2], [3]], parts);
        var e = Assert.Throws<ArgumentException>(() => Partitioners.BySiteLabel(centre, ["a", "b"]));
        Assert.Contains("'c'", e.Message);
    }

    [Fact]
    public void Should_cut_volumes_into_contiguous_slice_position_partitions()
    {
        Assert.Equal([0, 0, 0, 1, 1, 1, 2, 2, 2, 3, 3, 3], SlicePartitions.All(12, 4));
        Assert.Equal([0, 0, 1, 1, 2, 2, 3], SlicePartitions.All(7, 4));
        Assert.Throws<ArgumentException>(() => SlicePartitions.All(3, 4));
    }
}
