using FedActors.Actors.Coordination;
using FedActors.Actors.Simulation;
using FedActors.Training.Aggregation;
using FedActors.Training.Methods;
using FedActors.Training.Randomness;
using FedActors.Training.Weights;

namespace FedActors.Actors.Rounds;

/// <summary>
/// A round's rules that a strategy sets: how many hospitals it wants, how many accepted updates it
/// needs, how far it over-selects, its deadline on the simulated clock, and what it does with too few.
/// </summary>
/// <param name="SampleFraction">Fraction of all hospitals wanted per round (at least <paramref name="MinParticipants"/>).</param>
/// <param name="MinParticipants">A round aggregates only with at least this many accepted updates.</param>
/// <param name="MinParticipantsFraction">… and at least this fraction of the hospitals it wanted (0: no fractional minimum).</param>
/// <param name="OverSelection">Select k·(1 + x) hospitals and keep the first k to finish on the simulated clock.</param>
/// <param name="DeadlineSeconds">Simulated seconds after an attempt starts by which an update must arrive (+∞: none).</param>
/// <param name="OnTooFew">Skip the round or select more hospitals when too few updates were accepted.</param>
/// <param name="MaxRetries">Further selections a round may make under <see cref="TooFewPolicy.Retry"/>.</param>
public sealed record RoundRules(
    double SampleFraction = 1.0,
    int MinParticipants = 1,
    double MinParticipantsFraction = 0,
    double OverSelection = 0,
    double DeadlineSeconds = double.PositiveInfinity,
    TooFewPolicy OnTooFew = TooFewPolicy.Skip,
    int MaxRetries = 2)
{
    /// <summary>How many hospitals a round wants out of <paramref name="registered"/>: the sample fraction, at least the minimum.</summary>
    public int Wanted(int registered) =>
        Math.Clamp((int)Math.Ceiling(SampleFraction * registered), Math.Min(MinParticipants, registered), registered);

    /// <summary>Accepted updates a round needs when it wanted <paramref name="wanted"/> (the quorum).</summary>
    public int RequiredUpdates(int wanted) => Math.Max(MinParticipants, (int)Math.Ceiling(MinParticipantsFraction * wanted - 1e-9));

    /// <summary>How many to ask for <paramref name="wanted"/> updates: wanted × (1 + over-selection), rounded up.</summary>
    public int OverSelected(int wanted) => (int)Math.Ceiling(wanted * (1 + OverSelection) - 1e-9);
}

/// <summary>One hospital as a strategy sees it when choosing: its simulated speed and link, and its past rounds.</summary>
/// <param name="HospitalId">The hospital.</param>
/// <param name="Conditions">Its compute speed factor and bandwidth on the simulated clock.</param>
/// <param name="Selected">Rounds it was selected in so far.</param>
/// <param name="Aggregated">Rounds its update was aggregated in.</param>
/// <param name="Failed">Rounds it was selected in and failed: dropped, lost, late or rejected (surplus is not a failure).</param>
/// <param name="LastAggregated">The last round its update was aggregated in; 0 if never.</param>
public sealed record ClientRecord(string HospitalId, HospitalConditions Conditions, int Selected, int Aggregated, int Failed, int LastAggregated);

/// <summary>What a strategy sees when it chooses an attempt's clients.</summary>
/// <param name="Round">The round, from 1.</param>
/// <param name="Attempt">1 for the round's first selection; more when it retries for too few updates.</param>
/// <param name="Count">How many the rules ask for (the wanted count, over-selected); a strategy may choose fewer.</param>
/// <param name="Available">The hospitals it may choose from, by id: on at this time of the simulated clock and not yet asked this round.</param>
/// <param name="Clients">Every hospital of the run, available or not, by id.</param>
/// <param name="SimulatedClock">Simulated seconds when the attempt starts.</param>
/// <param name="Random">A generator derived from the run's seed, the round and the attempt: draw from it and the choice replays.</param>
public sealed record ClientSelection(
    int Round, int Attempt, int Count, IReadOnlyList<string> Available, IReadOnlyDictionary<string, ClientRecord> Clients,
    double SimulatedClock, SeededRandom Random)
{
    /// <summary>A uniform sample of <see cref="Count"/> of the available hospitals, drawn from <see cref="Random"/>, sorted by id.</summary>
    public IReadOnlyList<string> Sample() => SampleOf(Available, Count, Random);

    /// <summary>A uniform sample of <paramref name="count"/> of <paramref name="ids"/>, sorted by id; the same for any order of the input.</summary>
    public static List<string> SampleOf(IEnumerable<string> ids, int count, SeededRandom random)
    {
        var all = ids.OrderBy(id => id, StringComparer.Ordinal).ToList();
        return random.Permutation(all.Count).Take(Math.Min(count, all.Count)).Select(i => all[i]).OrderBy(id => id, StringComparer.Ordinal).ToList();
    }

    /// <summary>The generator a round's selection draws from: derived from (seed, round, attempt) alone.</summary>
    public static SeededRandom RandomFor(ulong seed, int round, int attempt) =>
        SeededRandom.Derive(seed, attempt == 1 ? $"selection/round-{round}" : $"selection/round-{round}/attempt-{attempt}");
}

/// <summary>How a selected hospital's round ended. Every selected hospital ends in exactly one.</summary>
public enum UpdateOutcome
{
    /// <summary>Its update arrived on time and passed every check.</summary>
    Accepted,
    /// <summary>It failed (a drop, the wall-clock timeout, offline on the availability trace) and sent nothing usable.</summary>
    Dropped,
    /// <summary>Its request or its upload was lost in transit.</summary>
    Lost,
    /// <summary>Its update arrived after the simulated deadline.</summary>
    Late,
    /// <summary>Its update failed a check (layout, NaN or Inf, sample count, hash, the method's own check).</summary>
    Rejected,
    /// <summary>On time, but over-selection kept the first k to finish and it was not among them.</summary>
    Surplus,
}

/// <summary>A selected hospital whose update will not be aggregated, as the strategy is told of it.</summary>
/// <param name="Round">The round, from 1.</param>
/// <param name="Attempt">The round's selection attempt it was selected in, from 1.</param>
/// <param name="HospitalId">The hospital.</param>
/// <param name="Outcome">How it failed; never <see cref="UpdateOutcome.Accepted"/>.</param>
/// <param name="Reason">A human-readable explanation, as in the run's events.</param>
/// <param name="SimulatedSeconds">When it happened on the simulated clock.</param>
public sealed record ClientFailure(int Round, int Attempt, string HospitalId, UpdateOutcome Outcome, string Reason, double SimulatedSeconds);

/// <summary>What a strategy aggregates: the round's accepted uploads (ordered by hospital id) and the method's server, which knows how the method combines them.</summary>
/// <param name="Round">The round being closed.</param>
/// <param name="PreviousGlobal">The global model the round started from.</param>
/// <param name="Accepted">The accepted uploads, ordered by hospital id; at least one.</param>
/// <param name="Server">The method's server, which combines them.</param>
public sealed record RoundAggregation(int Round, ModelWeights PreviousGlobal, IReadOnlyList<ClientContribution> Accepted, IFederatedServer Server)
{
    /// <summary>The accepted uploads as weighted contributions (weight: the sample count), in their order: what the pure aggregation rules take.</summary>
    public IReadOnlyList<WeightedContribution> Contributions() =>
        Accepted.Select(u => new WeightedContribution(u.HospitalId, u.Weights, u.Samples)).ToList();
}

/// <summary>
/// How rounds choose their clients, learn of failures and aggregate: the part of a round a user may
/// replace, in the spirit of Flower's <c>Strategy</c>. The round engine calls it; it never sees actors.
/// Implementations must be deterministic given their inputs (draw only from <see cref="ClientSelection.Random"/>)
/// and keep no state that a restarted coordinator would need: what they learn of past rounds is in
/// <see cref="ClientSelection.Clients"/>, rebuilt from the checkpointed history.
/// </summary>
public interface IRoundStrategy
{
    /// <summary>The round's rules: wanted and required counts, over-selection, deadline, what to do with too few.</summary>
    RoundRules Rules { get; }

    /// <summary>The hospitals this attempt asks, a subset of <see cref="ClientSelection.Available"/> without repeats.</summary>
    IReadOnlyList<string> SelectClients(ClientSelection selection);

    /// <summary>Told of every selected hospital whose update will not be aggregated, as it happens.</summary>
    void OnFailure(ClientFailure failure);

    /// <summary>The round's new global model and each upload's weight (summing to 1), from at least one accepted upload.</summary>
    ServerAggregate Aggregate(RoundAggregation aggregation);
}

/// <summary>
/// Federated averaging as a strategy: a seeded uniform sample of the wanted count (over-selected by the
/// rules), failures only recorded, aggregation by the method's server (for most methods the
/// sample-weighted mean). Derive from it to change one part, e.g. <see cref="SelectClients"/>.
/// </summary>
/// <param name="rules">The round rules from <see cref="Coordination.CoordinatorSettings.Rules"/>.</param>
public class FedAvgStrategy(RoundRules rules) : IRoundStrategy
{
    /// <inheritdoc />
    public RoundRules Rules { get; } = rules;

    /// <inheritdoc />
    public virtual IReadOnlyList<string> SelectClients(ClientSelection selection) => selection.Sample();

    /// <inheritdoc />
    public virtual void OnFailure(ClientFailure failure) { }

    /// <inheritdoc />
    public virtual ServerAggregate Aggregate(RoundAggregation aggregation) =>
        aggregation.Server.Aggregate(aggregation.Round, aggregation.PreviousGlobal, aggregation.Accepted);
}
