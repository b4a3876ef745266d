namespace FedActors.Actors.Coordination;

/// <summary>How rounds are run: how many, who takes part, when a round closes.</summary>
public sealed record CoordinatorSettings
{
    public int Rounds { get; init; } = 5;
    /// <summary>Fraction of hospitals selected per round (at least <see cref="MinParticipants"/>).</summary>
    public double SampleFraction { get; init; } = 1.0;
    /// <summary>A round may close at its deadline only with at least this many accepted updates.</summary>
    public int MinParticipants { get; init; } = 1;
    /// <summary>Wall-clock deadline of a round, counted from when the requests are sent.</summary>
    public TimeSpan RoundTimeout { get; init; } = TimeSpan.FromMinutes(10);
    /// <summary>
    /// While a round is open, requests are sent again to participants that have not answered
    /// after this long: a hospital whose node crashed is restarted on a survivor by the next
    /// message, and a hospital that already trained answers again without retraining.
    /// </summary>
    public TimeSpan ResendInterval { get; init; } = TimeSpan.FromSeconds(30);
    /// <summary>Evaluate the global model every k rounds (0: only after the last round).</summary>
    public int EvaluateEvery { get; init; }
    public ulong Seed { get; init; } = 42;

    public void Validate()
    {
        if (Rounds < 1) throw new ArgumentOutOfRangeException(nameof(Rounds), Rounds, "at least one round");
        if (SampleFraction <= 0 || SampleFraction > 1) throw new ArgumentOutOfRangeException(nameof(SampleFraction), SampleFraction, "must be in (0, 1]");
        if (MinParticipants < 1) throw new ArgumentOutOfRangeException(nameof(MinParticipants), MinParticipants, "at least one participant");
        if (RoundTimeout <= TimeSpan.Zero) throw new ArgumentOutOfRangeException(nameof(RoundTimeout), RoundTimeout, "must be positive");
        if (ResendInterval <= TimeSpan.Zero) throw new ArgumentOutOfRangeException(nameof(ResendInterval), ResendInterval, "must be positive");
        if (EvaluateEvery < 0) throw new ArgumentOutOfRangeException(nameof(EvaluateEvery), EvaluateEvery, "0 or more");
    }
}
