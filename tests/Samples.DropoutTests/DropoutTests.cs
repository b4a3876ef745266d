using FedActors.Actors.Rounds;
using FedActors.Testing;
using Xunit;

public class DropoutTests
{
    [Fact]
    public async Task A_hospital_that_drops_in_round_2_is_left_out_of_that_round_only()
    {
        await using var run = await Simulation.Create()
            .Hospitals(4).Rounds(3).Seed(7)
            .Drop("hospital-02", round: 2)
            .RunAsync();

        var round2 = run.Round(2);
        Assert.Equal(UpdateOutcome.Dropped, round2.OutcomeOf("hospital-02"));
        Assert.Equal(["hospital-01", "hospital-03", "hospital-04"], round2.Aggregated);
        Assert.DoesNotContain("hospital-02", round2.AggregationWeights.Keys);
        Assert.Equal(1.0, round2.AggregationWeights.Values.Sum(), precision: 6);
        Assert.All(new[] { 1, 3 }, r => Assert.Equal(4, run.Round(r).Aggregated.Count));
    }
}
