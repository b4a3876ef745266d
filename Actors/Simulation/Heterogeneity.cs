using FedActors.Training.Randomness;

namespace FedActors.Actors.Simulation;

/// <summary>How a hospital's compute time enters the simulated clock.</summary>
public enum ComputeClock
{
    /// <summary>Optimiser steps × seconds per step: the same every replay, so deadlines and over-selection replay exactly.</summary>
    Modelled,
    /// <summary>The wall-clock seconds training took here: realistic, but decisions that depend on it do not replay.</summary>
    Measured,
}

/// <summary>One hospital's drawn system properties.</summary>
/// <param name="SpeedFactor">Multiplies its compute time: 2 means it computes half as fast as the reference.</param>
/// <param name="BandwidthBytesPerSecond">Its link, used for both directions.</param>
public sealed record HospitalConditions(double SpeedFactor, double BandwidthBytesPerSecond);

/// <summary>Fixed properties of one named hospital, in place of draws from the distributions.</summary>
/// <param name="HospitalId">The hospital.</param>
/// <param name="SpeedFactor">Its compute speed factor; null: drawn as usual.</param>
/// <param name="BandwidthMbps">Its bandwidth in megabits per second; null: drawn as usual.</param>
public sealed record HospitalSystemOverride(string HospitalId, double? SpeedFactor, double? BandwidthMbps);

/// <summary>
/// System heterogeneity: each hospital's compute speed factor and bandwidth, drawn once from
/// named distributions with the run's seed or given per hospital. A hospital's simulated round
/// time = compute × its speed factor + bytes / its bandwidth.
/// </summary>
public sealed record Heterogeneity
{
    /// <summary>How compute time enters the simulated clock: modelled from optimiser steps (the default; replays exactly) or measured (<c>fedactors.heterogeneity.compute-clock</c>).</summary>
    public ComputeClock Compute { get; init; } = ComputeClock.Modelled;
    /// <summary>Reference seconds of one optimiser step (the modelled compute clock).</summary>
    public double SecondsPerStep { get; init; } = 0.05;
    /// <summary>The distribution each hospital's compute speed factor is drawn from (a multiplier of compute time; default constant 1).</summary>
    public ValueDistribution SpeedFactor { get; init; } = ValueDistribution.Constant(1);
    /// <summary>Megabits per second.</summary>
    public ValueDistribution BandwidthMbps { get; init; } = ValueDistribution.Constant(100);
    /// <summary>Hospitals given fixed properties instead of draws; each hospital at most once.</summary>
    public IReadOnlyList<HospitalSystemOverride> Hospitals { get; init; } = [];

    /// <summary>No heterogeneity: modelled compute, every hospital at speed factor 1 with 100 Mbit/s.</summary>
    public static Heterogeneity Uniform { get; } = new();

    /// <summary>Checks seconds per step, both distributions and the overrides (positive, finite, no hospital twice).</summary>
    /// <exception cref="ArgumentException">A setting is invalid; the message names it.</exception>
    public void Validate()
    {
        if (!(SecondsPerStep >= 0 && double.IsFinite(SecondsPerStep)))
            throw new ArgumentOutOfRangeException(nameof(SecondsPerStep), SecondsPerStep, "must be finite and not negative");
        SpeedFactor.Validate("speed factor");
        BandwidthMbps.Validate("bandwidth");
        foreach (var h in Hospitals)
        {
            if (h.SpeedFactor is { } s && !(s > 0 && double.IsFinite(s)))
                throw new ArgumentOutOfRangeException(nameof(Hospitals), $"hospital '{h.HospitalId}': speed factor must be positive, found {s}");
            if (h.BandwidthMbps is { } b && !(b > 0 && double.IsFinite(b)))
                throw new ArgumentOutOfRangeException(nameof(Hospitals), $"hospital '{h.HospitalId}': bandwidth must be positive, found {b}");
        }
        var twice = Hospitals.GroupBy(h => h.HospitalId).FirstOrDefault(g => g.Count() > 1);
        if (twice is not null) throw new ArgumentException($"hospital '{twice.Key}' is listed twice", nameof(Hospitals));
    }

    /// <summary>The hospital's properties: its override where given, else its seeded draw (the same on every node and replay).</summary>
    public HospitalConditions For(string hospitalId, ulong seed)
    {
        var given = Hospitals.FirstOrDefault(h => h.HospitalId == hospitalId);
        var speed = given?.SpeedFactor ?? SpeedFactor.Sample(SeededRandom.Derive(seed, $"heterogeneity/speed/{hospitalId}"));
        var mbps = given?.BandwidthMbps ?? BandwidthMbps.Sample(SeededRandom.Derive(seed, $"heterogeneity/bandwidth/{hospitalId}"));
        return new HospitalConditions(speed, mbps * 1e6 / 8);
    }

    /// <summary>Simulated seconds of local training.</summary>
    public double ComputeSeconds(int steps, double measuredSeconds, double speedFactor) =>
        (Compute == ComputeClock.Modelled ? steps * SecondsPerStep : measuredSeconds) * speedFactor;

    /// <summary>Simulated seconds to send <paramref name="bytes"/> over the hospital's link.</summary>
    /// <param name="bytes">The payload's size in bytes.</param>
    /// <param name="conditions">The hospital's drawn conditions, whose bandwidth is used.</param>
    public static double TransferSeconds(long bytes, HospitalConditions conditions) => bytes / conditions.BandwidthBytesPerSecond;
}
