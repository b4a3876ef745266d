using FedActors.Actors.Faults;
using FedActors.Training.Randomness;
using FedActors.Training.Weights;

namespace FedActors.Tests.Actors.Faults;

/// <summary>What a malicious client does to its upload (<see cref="Malice.Apply"/>), by hand, and when the plan makes it malicious.</summary>
public sealed class MaliceSpecs
{
    private static ModelWeights Vector(params float[] values) => new([new WeightTensor("w", [values.Length], values)]);

    private static readonly ModelWeights Global = Vector(1, 1, 0);
    private static readonly ModelWeights Trained = Vector(2, 3, -1); // a change of (1, 2, -1)

    [Fact]
    public void Should_scale_or_flip_the_change_from_the_global()
    {
        Assert.Equal([11f, 21f, -10f], new Malice(MaliceKind.Scaled, 10, 0).Apply(Trained, Global, null)["w"].Values);
        Assert.Equal([1e6f + 1, 2e6f + 1, -1e6f], new Malice(MaliceKind.Scaled, 1e6, 0).Apply(Trained, Global, null)["w"].Values);
        Assert.Equal([0f, -1f, 1f], new Malice(MaliceKind.SignFlipped, 0, 0).Apply(Trained, Global, null)["w"].Values);
    }

    [Fact]
    public void Should_spoil_the_first_value_with_nan_and_replay_the_earlier_upload_or_else_the_global()
    {
        var nan = new Malice(MaliceKind.NaN, 0, 0).Apply(Trained, Global, null)["w"].Values;
        Assert.True(float.IsNaN(nan[0]));
        Assert.Equal([3f, -1f], nan[1..]);
        var earlier = Vector(5, 5, 5);
        Assert.Same(earlier, new Malice(MaliceKind.StaleReplay, 0, 0).Apply(Trained, Global, earlier));
        Assert.Same(Global, new Malice(MaliceKind.StaleReplay, 0, 0).Apply(Trained, Global, null));
    }

    [Fact]
    public void Should_add_noise_of_sigma_drawn_from_the_seed_it_is_given()
    {
        var rng = new SeededRandom(99);
        var expected = Trained["w"].Values.Select(v => (float)(v + 0.5 * rng.NextGaussian())).ToArray();
        Assert.Equal(expected, new Malice(MaliceKind.Noise, 0.5, 99).Apply(Trained, Global, null)["w"].Values);
        Assert.NotEqual(expected, new Malice(MaliceKind.Noise, 0.5, 100).Apply(Trained, Global, null)["w"].Values);
    }

    [Fact]
    public void Should_make_a_hospital_malicious_from_its_round_on_with_noise_seeds_derived_from_the_experiment_seed()
    {
        var plan = new FaultPlan { Malicious = [new ScriptedMalice("h", 2, MaliceKind.Noise, 0.1)] };
        Assert.Null(plan.For(5, 1, "h").Malice);
        Assert.Null(plan.For(5, 2, "other").Malice);
        Assert.Equal(new Malice(MaliceKind.Noise, 0.1, SeededRandom.DeriveSeed(5, "malice/round-2/h")), plan.For(5, 2, "h").Malice);
        Assert.NotEqual(plan.For(5, 2, "h").Malice!.Seed, plan.For(5, 3, "h").Malice!.Seed);
        Assert.NotEqual(plan.For(5, 2, "h").Malice!.Seed, plan.For(6, 2, "h").Malice!.Seed);
    }

    [Fact]
    public void Should_refuse_a_zero_scaling_factor_and_a_non_positive_sigma()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new FaultPlan { Malicious = [new ScriptedMalice("h", 1, MaliceKind.Scaled, 0)] }.Validate());
        Assert.Throws<ArgumentOutOfRangeException>(() => new FaultPlan { Malicious = [new ScriptedMalice("h", 1, MaliceKind.Noise, -1)] }.Validate());
        Assert.Throws<ArgumentOutOfRangeException>(() => new FaultPlan { Malicious = [new ScriptedMalice("h", 0, MaliceKind.NaN)] }.Validate());
    }
}
