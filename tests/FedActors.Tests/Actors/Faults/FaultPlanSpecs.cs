using CsCheck;
using FedActors.Actors.Faults;
using FedActors.Training.Randomness;

namespace FedActors.Tests.Actors.Faults;

/// <summary>
/// <see cref="FaultPlan.For"/>: what a plan does to one hospital in one round, drawn from a generator derived from
/// (seed, round, hospital) alone. Properties run on fixed cases (<see cref="SeededProperty"/>).
/// </summary>
public sealed class FaultPlanSpecs
{
    private static readonly DropoutStage[] AllStages = Enum.GetValues<DropoutStage>();

    private static string Hospital(int i) => $"hospital-{i:D3}";

    /// <summary>A valid plan with random dropout (p in (0, 1)), some message faults and no scripted events.</summary>
    private static readonly Gen<FaultPlan> RandomPlans =
        from p in Gen.Double[0.05, 0.95]
        from stages in Gen.Enum<DropoutStage>().HashSet[1, 3]
        from messages in Gen.Select(Gen.Enum<RoundMessage>(), Gen.Bool, Gen.Double[0, 1], Gen.Double[0.5, 60])
            .Select((m, lose, q, delay) => new MessageFault(m, lose, q, lose ? 0 : delay)).Array[0, 4]
        select new FaultPlan { Dropout = new RandomDropout(p, stages.Order().ToList()), Messages = messages };

    private static readonly Gen<(FaultPlan Plan, ulong Seed)> PlansAndSeeds = Gen.Select(RandomPlans, Gen.ULong);

    /// <summary>Every (round, hospital) of a small run, in the order a coordinator would ask.</summary>
    private static List<(int Round, string Hospital)> Cells(int rounds, int hospitals) =>
        [.. from r in Enumerable.Range(1, rounds) from h in Enumerable.Range(1, hospitals) select (r, Hospital(h))];

    [Fact]
    public void Should_give_the_same_faults_for_the_same_seed_round_and_hospital_whatever_order_they_are_asked_in()
    {
        SeededProperty.ForAll(Gen.Select(PlansAndSeeds, Gen.ULong), t =>
        {
            var ((plan, seed), shuffleSeed) = t;
            var cells = Cells(6, 8);
            var inOrder = cells.ToDictionary(c => c, c => plan.For(seed, c.Round, c.Hospital));
            // Asked again in another order, and of an equal plan built afresh: a generator shared between calls,
            // or state kept in the plan, would hand out different draws.
            var shuffled = cells.ToList();
            new SeededRandom(shuffleSeed).Shuffle(shuffled);
            var again = plan with { Messages = plan.Messages.ToList() };
            foreach (var c in shuffled)
                Assert.Equal(inOrder[c], again.For(seed, c.Round, c.Hospital));
        });
    }

    [Fact]
    public void Should_corrupt_only_the_scripted_hospital_and_round_and_refuse_round_0()
    {
        var plan = new FaultPlan { Corruptions = [new ScriptedCorruption("hospital-02", 3, Corruption.Scaled)] };
        Assert.False(plan.IsEmpty);
        Assert.Equal(Corruption.Scaled, plan.For(9, 3, "hospital-02").Corrupt);
        Assert.Null(plan.For(9, 2, "hospital-02").Corrupt);
        Assert.Null(plan.For(9, 3, "hospital-01").Corrupt);
        Assert.Throws<ArgumentOutOfRangeException>(() => (plan with { Corruptions = [new ScriptedCorruption("hospital-02", 0, Corruption.NaN)] }).Validate());
    }

    [Fact]
    public void Should_draw_independently_for_each_seed_round_and_hospital()
    {
        // DropFraction is a fresh uniform double of the derived generator in every call: two cells sharing a
        // generator (or ignoring the seed, round or hospital) would show the same value. Two independent 53-bit
        // draws are equal with probability 2^-53, and the cases are fixed, so this cannot flake.
        SeededProperty.ForAll(PlansAndSeeds, t =>
        {
            var (plan, seed) = t;
            var fractions = Cells(5, 6).Select(c => plan.For(seed, c.Round, c.Hospital).DropFraction).ToList();
            Assert.Equal(fractions.Count, fractions.Distinct().Count());
            Assert.NotEqual(plan.For(seed, 3, Hospital(2)).DropFraction, plan.For(seed + 1, 3, Hospital(2)).DropFraction);
            Assert.All(fractions, f => Assert.True(f is >= 0 and < 1, $"fraction {f} is outside [0, 1)"));
        });
    }

    [Fact]
    public void Should_draw_from_a_generator_derived_from_the_seed_round_and_hospital_by_name()
    {
        // The stream is named, so a replay on another node, or after a coordinator restart, draws the same:
        // drop draw first, then stage, then fraction, then one draw per message fault in plan order.
        var plan = new FaultPlan { Dropout = new RandomDropout(0.5, AllStages), Messages = [new MessageFault(RoundMessage.Upload, true, 0.5)] };
        SeededProperty.ForAll(Gen.Select(Gen.ULong, Gen.Int[1, 1000], Gen.Int[1, 500]), t =>
        {
            var (seed, round, h) = t;
            var rng = SeededRandom.Derive(seed, $"faults/round-{round}/{Hospital(h)}");
            var (drop, stage, fraction, upload) = (rng.NextDouble(), rng.NextDouble(), rng.NextDouble(), rng.NextDouble());
            var faults = plan.For(seed, round, Hospital(h));
            Assert.Equal(fraction, faults.DropFraction);
            Assert.Equal(drop < 0.5 ? AllStages[(int)(stage * 3)] : (DropoutStage?)null, faults.Drop);
            Assert.Equal(upload < 0.5, faults.UploadLost);
        });
    }

    [Fact]
    public void Should_not_change_a_hospitals_drops_when_other_fault_kinds_or_other_hospitals_events_are_added()
    {
        SeededProperty.ForAll(PlansAndSeeds, t =>
        {
            var (plan, seed) = t;
            // Message faults draw after the drop, and scripted events of other hospitals draw nothing.
            var busier = plan with
            {
                Messages = [.. plan.Messages, new MessageFault(RoundMessage.Request, false, 0.7, 5)],
                Drops = [new ScriptedDrop("someone-else", 2, DropoutStage.AfterUpload)],
                Slowdowns = [new ScriptedSlowdown("someone-else", 1, 3)],
            };
            foreach (var (round, hospital) in Cells(4, 6))
            {
                var (a, b) = (plan.For(seed, round, hospital), busier.For(seed, round, hospital));
                Assert.Equal((a.Drop, a.DropReason, a.DropFraction, a.SlowFactor), (b.Drop, b.DropReason, b.DropFraction, b.SlowFactor));
                Assert.Equal((a.UploadLost, a.UploadDelaySeconds), (b.UploadLost, b.UploadDelaySeconds));
            }
        });
    }

    /// <summary>
    /// The realised dropout rate over <c>rounds × hospitals</c> cells is within a Hoeffding bound of the configured one.
    /// </summary>
    /// <remarks>
    /// Cannot flake: the seeds are fixed, so every draw, and so the realised rate, is a constant of this code; a
    /// changed rate means the drop logic changed. The tolerance t = sqrt(ln(2/δ) / 2N) with δ = 1e-9 is what a
    /// correct implementation meets for all but a 1e-9 share of seeds (Hoeffding: P(|p̂ − p| ≥ t) ≤ 2e^(−2Nt²)), while
    /// an implementation that ignored the rate, or drew one decision for all hospitals of a round, misses it by far.
    /// </remarks>
    [Theory]
    [InlineData(0.0, 1UL)]
    [InlineData(0.03, 2UL)]
    [InlineData(0.3, 3UL)]
    [InlineData(0.5, 4UL)]
    [InlineData(0.9, 5UL)]
    [InlineData(1.0, 6UL)]
    public void Should_drop_at_the_configured_rate_over_many_rounds_and_hospitals(double probability, ulong seed)
    {
        var plan = new FaultPlan { Dropout = new RandomDropout(probability, AllStages) };
        var cells = Cells(200, 60);
        var faults = cells.Select(c => plan.For(seed, c.Round, c.Hospital)).ToList();
        var n = faults.Count;
        var tolerance = Math.Sqrt(Math.Log(2 / 1e-9) / (2.0 * n));

        var dropped = faults.Where(f => f.Drop is not null).ToList();
        Assert.InRange((double)dropped.Count / n, probability - tolerance, probability + tolerance);
        if (probability is 0 or 1) Assert.Equal(probability * n, dropped.Count); // the edges are exact
        Assert.All(dropped, f => Assert.StartsWith($"random dropout (p = {probability})", f.DropReason));

        // Each stage gets a third of the drops, within the same bound over the drops alone.
        if (dropped.Count == 0) return;
        var stageTolerance = Math.Sqrt(Math.Log(2 / 1e-9) / (2.0 * dropped.Count));
        foreach (var stage in AllStages)
            Assert.InRange((double)dropped.Count(f => f.Drop == stage) / dropped.Count, 1.0 / 3 - stageTolerance, 1.0 / 3 + stageTolerance);

        // Rounds are not drawn in lockstep: a hospital's drops in one round say nothing about the next, and the
        // share of (r, r + 1) pairs both dropped is p², not p (as it would be if the draw ignored the round).
        if (probability is 0 or 1) return;
        var byCell = cells.Zip(faults).ToDictionary(x => x.First, x => x.Second.Drop is not null);
        // Disjoint pairs (rounds 1-2, 3-4, ...): independent of each other under a correct plan, so Hoeffding applies.
        var pairs = cells.Where(c => c.Round % 2 == 1).Select(c => byCell[c] && byCell[(c.Round + 1, c.Hospital)]).ToList();
        var pairTolerance = Math.Sqrt(Math.Log(2 / 1e-9) / (2.0 * pairs.Count));
        Assert.InRange((double)pairs.Count(x => x) / pairs.Count, probability * probability - pairTolerance, probability * probability + pairTolerance);
    }

    /// <summary>Message faults fire at their configured rate; same Hoeffding argument as for dropout.</summary>
    [Theory]
    [InlineData(0.1, 11UL)]
    [InlineData(0.6, 12UL)]
    public void Should_lose_and_delay_messages_at_their_configured_rates(double probability, ulong seed)
    {
        var plan = new FaultPlan
        {
            Messages = [new MessageFault(RoundMessage.Request, true, probability), new MessageFault(RoundMessage.Upload, false, 1 - probability, 7)],
        };
        var faults = Cells(150, 50).Select(c => plan.For(seed, c.Round, c.Hospital)).ToList();
        var tolerance = Math.Sqrt(Math.Log(2 / 1e-9) / (2.0 * faults.Count));

        Assert.InRange((double)faults.Count(f => f.RequestLost) / faults.Count, probability - tolerance, probability + tolerance);
        var delayed = faults.Count(f => f.UploadDelaySeconds > 0);
        Assert.InRange((double)delayed / faults.Count, 1 - probability - tolerance, 1 - probability + tolerance);
        Assert.All(faults, f => Assert.Contains(f.UploadDelaySeconds, new[] { 0.0, 7.0 }));
        Assert.All(faults, f => Assert.False(f.UploadLost || f.RequestDelaySeconds > 0 || f.Drop is not null));
    }

    [Fact]
    public void Should_add_up_the_delays_of_every_delay_fault_that_fires_and_lose_a_message_if_any_loss_fires()
    {
        SeededProperty.ForAll(Gen.Select(Gen.Double[0.5, 100].Array[1, 5], Gen.ULong), t =>
        {
            var (delays, seed) = t;
            var certain = new FaultPlan
            {
                Messages = [.. delays.Select(d => new MessageFault(RoundMessage.Request, false, 1, d)), new MessageFault(RoundMessage.Upload, true, 1)],
            };
            var f = certain.For(seed, 1, Hospital(1));
            Assert.Equal(delays.Sum(), f.RequestDelaySeconds, 9);
            Assert.True(f.UploadLost);
            Assert.False(f.RequestLost);
            var never = certain with { Messages = [.. certain.Messages.Select(m => m with { Probability = 0 })] };
            Assert.Equal(HospitalRoundFaults.None with { DropFraction = never.For(seed, 1, Hospital(1)).DropFraction }, never.For(seed, 1, Hospital(1)));
        });
    }

    [Fact]
    public void Should_drop_a_scripted_hospital_in_its_round_only_whatever_the_random_dropout_says()
    {
        SeededProperty.ForAll(Gen.Select(Gen.Int[1, 20], Gen.Int[1, 10], Gen.Enum<DropoutStage>(), Gen.ULong), t =>
        {
            var (round, h, stage, seed) = t;
            var never = new FaultPlan { Dropout = new RandomDropout(0, [DropoutStage.BeforeTraining]), Drops = [new ScriptedDrop(Hospital(h), round, stage)] };
            var always = never with { Dropout = new RandomDropout(1, [DropoutStage.BeforeTraining]) };

            foreach (var plan in new[] { never, always })
            {
                var scripted = plan.For(seed, round, Hospital(h));
                Assert.Equal(stage, scripted.Drop);
                Assert.Equal($"scripted drop {FaultPlan.Describe(stage)}", scripted.DropReason);
            }
            // The script names one (hospital, round): neighbours fall to the random dropout.
            Assert.Null(never.For(seed, round + 1, Hospital(h)).Drop);
            Assert.Null(never.For(seed, round, Hospital(h + 1)).Drop);
            Assert.Equal(DropoutStage.BeforeTraining, always.For(seed, round + 1, Hospital(h)).Drop);
        });
    }

    [Fact]
    public void Should_slow_a_hospital_by_the_product_of_its_slowdowns_from_their_rounds_on()
    {
        var slowdowns = Gen.Select(Gen.Int[1, 4], Gen.Int[1, 10], Gen.Double[0.1, 8])
            .Select((h, from, factor) => new ScriptedSlowdown(Hospital(h), from, factor)).Array[0, 6];
        SeededProperty.ForAll(Gen.Select(slowdowns, Gen.ULong), t =>
        {
            var (list, seed) = t;
            var plan = new FaultPlan { Slowdowns = list };
            foreach (var (round, hospital) in Cells(12, 5))
            {
                var expected = list.Where(s => s.HospitalId == hospital && s.FromRound <= round).Aggregate(1.0, (f, s) => f * s.Factor);
                Assert.Equal(expected, plan.For(seed, round, hospital).SlowFactor, 12);
            }
        });
    }

    [Fact]
    public void Should_do_nothing_to_anyone_when_the_plan_is_empty()
    {
        SeededProperty.ForAll(Gen.Select(Gen.ULong, Gen.Int[1, 10_000], Gen.String), t =>
        {
            var (seed, round, hospital) = t;
            Assert.Same(HospitalRoundFaults.None, FaultPlan.None.For(seed, round, hospital));
        });
        // A zero-probability dropout is not "no plan", but it never fires.
        var zero = new FaultPlan { Dropout = new RandomDropout(0, AllStages) };
        Assert.False(zero.IsEmpty);
        Assert.All(Cells(20, 20), c => Assert.Null(zero.For(7, c.Round, c.Hospital).Drop));
    }

    [Fact]
    public void Should_accept_every_probability_in_zero_to_one_and_refuse_every_other_naming_the_fault()
    {
        SeededProperty.ForAll(Gen.Double[-2, 3], p =>
        {
            var dropout = new FaultPlan { Dropout = new RandomDropout(p, AllStages) };
            var message = new FaultPlan { Messages = [new MessageFault(RoundMessage.Upload, true, p)] };
            if (p is >= 0 and <= 1)
            {
                dropout.Validate();
                message.Validate();
                return;
            }
            var e = Assert.Throws<ArgumentOutOfRangeException>(dropout.Validate);
            Assert.Equal(nameof(FaultPlan.Dropout), e.ParamName);
            Assert.Contains($"found {p}", e.Message);
            var m = Assert.Throws<ArgumentOutOfRangeException>(message.Validate);
            Assert.Equal(nameof(FaultPlan.Messages), m.ParamName);
            Assert.Contains("Upload fault", m.Message);
        });
        Assert.Throws<ArgumentOutOfRangeException>(new FaultPlan { Dropout = new RandomDropout(double.NaN, AllStages) }.Validate);
    }

    [Theory]
    [MemberData(nameof(InvalidPlans))]
    public void Should_refuse_an_invalid_plan_naming_what_is_wrong(FaultPlan plan, string parameter, string problem)
    {
        var e = Assert.ThrowsAny<ArgumentException>(plan.Validate);
        Assert.Equal(parameter, e.ParamName);
        Assert.Contains(problem, e.Message);
    }

    /// <summary>One broken field each, with the parameter and the words its error must name.</summary>
    public static TheoryData<FaultPlan, string, string> InvalidPlans => new()
    {
        { new FaultPlan { Dropout = new RandomDropout(0.2, []) }, "Dropout", "at least one stage" },
        { new FaultPlan { Drops = [new ScriptedDrop("h", 0, DropoutStage.BeforeTraining)] }, "Drops", "round 0: rounds start at 1" },
        { new FaultPlan { Slowdowns = [new ScriptedSlowdown("h", -3, 2)] }, "Drops", "round -3" },
        { new FaultPlan { WorkerCrashes = [new ScriptedWorkerCrash("node-b", 0)] }, "Drops", "round 0" },
        { new FaultPlan { CoordinatorCrashes = [new ScriptedCoordinatorCrash(0)] }, "Drops", "round 0" },
        { new FaultPlan { Slowdowns = [new ScriptedSlowdown("hospital-07", 2, 0)] }, "Slowdowns", "'hospital-07': factor must be positive, found 0" },
        { new FaultPlan { Slowdowns = [new ScriptedSlowdown("hospital-07", 2, double.PositiveInfinity)] }, "Slowdowns", "'hospital-07'" },
        { new FaultPlan { Messages = [new MessageFault(RoundMessage.Request, false, 0.5, 0)] }, "Messages", "Request delay: seconds must be positive, found 0" },
        { new FaultPlan { Messages = [new MessageFault(RoundMessage.Upload, false, 0.5, double.NaN)] }, "Messages", "Upload delay" },
    };

    [Fact]
    public void Should_know_a_plan_with_any_fault_is_not_empty()
    {
        Assert.True(FaultPlan.None.IsEmpty);
        Assert.True(new FaultPlan().IsEmpty);
        Assert.False(new FaultPlan { WorkerCrashes = [new ScriptedWorkerCrash("node-b", 2)] }.IsEmpty);
        Assert.False(new FaultPlan { CoordinatorCrashes = [new ScriptedCoordinatorCrash(2)] }.IsEmpty);
        Assert.False(new FaultPlan { Slowdowns = [new ScriptedSlowdown("h", 1, 2)] }.IsEmpty);
        Assert.False(new FaultPlan { Drops = [new ScriptedDrop("h", 1, DropoutStage.AfterUpload)] }.IsEmpty);
        Assert.False(new FaultPlan { Messages = [new MessageFault(RoundMessage.Request, true, 0.1)] }.IsEmpty);
    }
}
