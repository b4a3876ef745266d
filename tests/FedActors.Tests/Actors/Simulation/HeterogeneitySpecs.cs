using CsCheck;
using FedActors.Actors.Simulation;
using FedActors.Training.Randomness;

namespace FedActors.Tests.Actors.Simulation;

/// <summary>
/// <see cref="Heterogeneity"/>: each hospital's speed factor and bandwidth, a pure function of (seed, hospital id) and
/// its override, so a hospital keeps its conditions on any node, in any order, in a run of any size.
/// Properties run on fixed cases (<see cref="SeededProperty"/>).
/// </summary>
public sealed class HeterogeneitySpecs
{
    private static readonly Heterogeneity Spread = new()
    {
        SpeedFactor = ValueDistribution.Uniform(0.5, 4),
        BandwidthMbps = ValueDistribution.LogNormal(50, 0.8),
    };

    private static string Hospital(int i) => $"hospital-{i:D3}";

    /// <summary>Distinct hospital ids (of a run of up to 40) and a seed.</summary>
    private static readonly Gen<(string[] Hospitals, ulong Seed)> HospitalsAndSeed =
        Gen.Select(Gen.Int[1, 200].HashSet[1, 40].Select(s => s.Select(Hospital).ToArray()), Gen.ULong);

    [Fact]
    public void Should_give_each_hospital_the_same_conditions_whatever_the_order_and_number_of_hospitals_asked()
    {
        SeededProperty.ForAll(Gen.Select(HospitalsAndSeed, Gen.ULong), t =>
        {
            var ((hospitals, seed), shuffleSeed) = t;
            var inOrder = hospitals.ToDictionary(h => h, h => Spread.For(h, seed));
            // Another order, half the run, and a fresh equal config: a generator shared across hospitals would
            // hand each one the draw of its position, not of its id.
            var shuffled = hospitals.ToList();
            new SeededRandom(shuffleSeed).Shuffle(shuffled);
            var fresh = Spread with { Hospitals = [] };
            foreach (var h in shuffled.Take(Math.Max(1, shuffled.Count / 2)))
                Assert.Equal(inOrder[h], fresh.For(h, seed));
        });
    }

    [Fact]
    public void Should_draw_other_conditions_for_another_seed_or_another_hospital()
    {
        // Speeds are uniform doubles and bandwidths lognormal ones: two independent draws coincide with probability
        // ~2^-53, and the cases are fixed, so a collision here means a stream ignores the seed or the hospital.
        SeededProperty.ForAll(HospitalsAndSeed, t =>
        {
            var (hospitals, seed) = t;
            var conditions = hospitals.Select(h => Spread.For(h, seed)).ToList();
            Assert.Equal(hospitals.Length, conditions.Select(c => c.SpeedFactor).Distinct().Count());
            Assert.Equal(hospitals.Length, conditions.Select(c => c.BandwidthBytesPerSecond).Distinct().Count());
            Assert.NotEqual(Spread.For(hospitals[0], seed), Spread.For(hospitals[0], seed ^ 1));
        });
    }

    [Fact]
    public void Should_draw_speed_and_bandwidth_from_separate_named_streams()
    {
        SeededProperty.ForAll(Gen.Select(Gen.Int[1, 500], Gen.ULong), t =>
        {
            var (i, seed) = t;
            var h = Hospital(i);
            var c = Spread.For(h, seed);
            // The streams are named by hospital, so their draws are the documented ones...
            Assert.Equal(Spread.SpeedFactor.Sample(SeededRandom.Derive(seed, $"heterogeneity/speed/{h}")), c.SpeedFactor);
            Assert.Equal(Spread.BandwidthMbps.Sample(SeededRandom.Derive(seed, $"heterogeneity/bandwidth/{h}")) * 1e6 / 8, c.BandwidthBytesPerSecond);
            // ...and changing one distribution leaves the other's draw as it was.
            var otherSpeeds = Spread with { SpeedFactor = ValueDistribution.LogNormal(3, 1) };
            Assert.Equal(c.BandwidthBytesPerSecond, otherSpeeds.For(h, seed).BandwidthBytesPerSecond);
            Assert.Equal(c.SpeedFactor, (Spread with { BandwidthMbps = ValueDistribution.Uniform(1, 9) }).For(h, seed).SpeedFactor);
        });
    }

    [Fact]
    public void Should_keep_every_draw_within_its_distributions_support()
    {
        var uniform = new Heterogeneity { SpeedFactor = ValueDistribution.Uniform(2, 3), BandwidthMbps = ValueDistribution.Uniform(10, 20) };
        SeededProperty.ForAll(HospitalsAndSeed, t =>
        {
            var (hospitals, seed) = t;
            foreach (var h in hospitals)
            {
                var c = uniform.For(h, seed);
                Assert.InRange(c.SpeedFactor, 2, 3);
                Assert.InRange(c.BandwidthBytesPerSecond, 10e6 / 8, 20e6 / 8);
                Assert.True(Spread.For(h, seed) is { SpeedFactor: > 0, BandwidthBytesPerSecond: > 0 });
            }
        });
    }

    [Fact]
    public void Should_give_a_listed_hospital_its_own_values_and_leave_the_others_to_their_draws()
    {
        var overrides = Gen.Select(Gen.Int[1, 10], Gen.Double[0.1, 10].Nullable(), Gen.Double[1, 1000].Nullable())
            .Select((i, speed, mbps) => new HospitalSystemOverride(Hospital(i), speed, mbps))
            .Array[0, 6].Select(list => list.DistinctBy(o => o.HospitalId).ToArray());
        SeededProperty.ForAll(Gen.Select(overrides, Gen.ULong), t =>
        {
            var (list, seed) = t;
            var given = Spread with { Hospitals = list };
            given.Validate();
            foreach (var h in Enumerable.Range(1, 12).Select(Hospital))
            {
                var (drawn, actual) = (Spread.For(h, seed), given.For(h, seed));
                var o = list.FirstOrDefault(x => x.HospitalId == h);
                Assert.Equal(o?.SpeedFactor ?? drawn.SpeedFactor, actual.SpeedFactor);
                Assert.Equal(o?.BandwidthMbps is { } mbps ? mbps * 1e6 / 8 : drawn.BandwidthBytesPerSecond, actual.BandwidthBytesPerSecond);
            }
        });
    }

    [Fact]
    public void Should_time_compute_by_its_clock_and_transfer_by_bandwidth()
    {
        var times = Gen.Select(Gen.Int[0, 10_000], Gen.Double[0, 1e4], Gen.Double[0.01, 20], Gen.Double[0, 2], Gen.Long[0, 1L << 40], Gen.Double[0.001, 1e4]);
        SeededProperty.ForAll(times, t =>
        {
            var (steps, measured, speed, secondsPerStep, bytes, mbps) = t;
            var modelled = new Heterogeneity { SecondsPerStep = secondsPerStep };
            var wall = modelled with { Compute = ComputeClock.Measured };
            Assert.Equal(steps * secondsPerStep * speed, modelled.ComputeSeconds(steps, measured, speed), 9);
            Assert.Equal(measured * speed, wall.ComputeSeconds(steps, measured, speed), 9);
            var conditions = new Heterogeneity { Hospitals = [new HospitalSystemOverride("h", 1, mbps)] }.For("h", 0);
            Assert.Equal(bytes * 8 / (mbps * 1e6), Heterogeneity.TransferSeconds(bytes, conditions), 1e-9 * (1 + bytes * 8 / (mbps * 1e6)));
        });
    }

    [Fact]
    public void Should_default_to_identical_hospitals_on_a_hundred_megabit_link()
    {
        SeededProperty.ForAll(Gen.Select(Gen.String, Gen.ULong), t =>
            Assert.Equal(new HospitalConditions(1, 100e6 / 8), Heterogeneity.Uniform.For(t.Item1, t.Item2)));
        Assert.Equal(ComputeClock.Modelled, Heterogeneity.Uniform.Compute);
    }

    [Theory]
    [MemberData(nameof(InvalidSettings))]
    public void Should_refuse_invalid_settings_naming_the_setting_or_hospital(Heterogeneity settings, string problem)
    {
        var e = Assert.ThrowsAny<ArgumentException>(settings.Validate);
        Assert.Contains(problem, e.Message);
    }

    /// <summary>One broken setting each, with the words its error must name.</summary>
    public static TheoryData<Heterogeneity, string> InvalidSettings => new()
    {
        { new Heterogeneity { SecondsPerStep = -1 }, "SecondsPerStep" },
        { new Heterogeneity { SecondsPerStep = double.NaN }, "SecondsPerStep" },
        { new Heterogeneity { SpeedFactor = ValueDistribution.Uniform(3, 2) }, "speed factor: uniform needs 0 < min <= max" },
        { new Heterogeneity { BandwidthMbps = ValueDistribution.Constant(0) }, "bandwidth: constant value must be positive" },
        { new Heterogeneity { Hospitals = [new HospitalSystemOverride("hospital-04", -2, null)] }, "hospital 'hospital-04': speed factor must be positive, found -2" },
        { new Heterogeneity { Hospitals = [new HospitalSystemOverride("hospital-05", null, double.PositiveInfinity)] }, "hospital 'hospital-05': bandwidth must be positive" },
        { new Heterogeneity { Hospitals = [new HospitalSystemOverride("hospital-06", 2, null), new HospitalSystemOverride("hospital-06", null, 3)] }, "hospital 'hospital-06' is listed twice" },
    };
}
