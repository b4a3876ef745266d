using FedActors.Training.Aggregation;
using FedActors.Training.Methods;
using FedActors.Training.Privacy;
using FedActors.Training.Randomness;
using FedActors.Training.Weights;

namespace FedActors.Actors.Rounds;

/// <summary>
/// Client-level differential privacy (DP-FedAvg, McMahan et al., 2018): each accepted upload's change from the global is
/// clipped to L2 norm S, the clipped changes are summed, Gaussian noise of standard deviation z · S is added to every
/// coordinate, and the sum is divided by the number of uploads n. Keys <c>fedactors.rounds.dp-noise-multiplier</c> (z; 0,
/// the default, is off), <c>dp-clip-norm</c> (S) and <c>dp-delta</c> (δ).
/// </summary>
/// <param name="NoiseMultiplier">z, in [0, 1e6]; 0 switches privacy off.</param>
/// <param name="ClipNorm">S, the largest L2 norm of one client's change, in (0, 1e12].</param>
/// <param name="Delta">δ of the reported (ε, δ), in (0, 1).</param>
public sealed record ClientPrivacy(double NoiseMultiplier = 0, double ClipNorm = 1.0, double Delta = 1e-5)
{
    /// <summary>No privacy: the method's own aggregation.</summary>
    public static ClientPrivacy Off { get; } = new();

    /// <summary>Whether noise is added (<see cref="NoiseMultiplier"/> positive).</summary>
    public bool IsOn => NoiseMultiplier > 0;

    /// <summary>Checks the ranges.</summary>
    /// <exception cref="ArgumentOutOfRangeException">A parameter is out of range; the exception names its key.</exception>
    public void Validate()
    {
        if (!(NoiseMultiplier >= 0 && NoiseMultiplier <= 1e6))
            throw new ArgumentOutOfRangeException("fedactors.rounds.dp-noise-multiplier", NoiseMultiplier, "must be in [0, 1e6]");
        if (!(ClipNorm > 0 && ClipNorm <= 1e12))
            throw new ArgumentOutOfRangeException("fedactors.rounds.dp-clip-norm", ClipNorm, "must be in (0, 1e12]");
        if (!(Delta > 0 && Delta < 1))
            throw new ArgumentOutOfRangeException("fedactors.rounds.dp-delta", Delta, "must be in (0, 1)");
    }

    /// <summary>
    /// ε at <see cref="Delta"/> after <paramref name="aggregatedRounds"/> noised rounds in which each hospital took part with
    /// probability <paramref name="sampleRate"/> (<see cref="RdpAccountant"/>; selection is a uniform sample of fixed size,
    /// accounted as Poisson sampling at its rate, as DP-FedAvg's analysis does); 0 when off.
    /// </summary>
    /// <param name="aggregatedRounds">Rounds so far whose aggregate was noised (skipped rounds release nothing).</param>
    /// <param name="sampleRate">The hospitals asked per round over the hospitals registered, in (0, 1].</param>
    public double EpsilonAfter(int aggregatedRounds, double sampleRate) =>
        IsOn ? RdpAccountant.Epsilon(Math.Clamp(sampleRate, 0, 1), NoiseMultiplier, aggregatedRounds, Delta).Epsilon : 0;

    /// <summary>
    /// g + (Σ_i clip(θ_i − g, S) + N(0, (z·S)² I)) / n over the uploads in their given order, the noise drawn from
    /// <paramref name="noise"/> coordinate after coordinate (tensor by tensor), so a seed gives the same model in every
    /// process layout.
    /// </summary>
    /// <param name="previousGlobal">g, the global the uploads started from.</param>
    /// <param name="uploads">The accepted uploads, at least one, of g's layout; their weights are ignored (each counts once).</param>
    /// <param name="noise">The round's generator.</param>
    public ModelWeights Aggregate(ModelWeights previousGlobal, IReadOnlyList<WeightedContribution> uploads, SeededRandom noise)
    {
        if (uploads.Count == 0) throw new ArgumentException("Nothing to aggregate: no contributions.", nameof(uploads));
        var clipped = uploads.Select(u => RobustAggregation.ClipDelta(u.Weights, previousGlobal, ClipNorm)).ToList();
        var sigma = NoiseMultiplier * ClipNorm;
        return new ModelWeights(previousGlobal.Tensors.Select((t, ti) =>
        {
            var values = new float[t.Values.Length];
            for (var i = 0; i < values.Length; i++)
            {
                double sum = 0;
                foreach (var c in clipped) sum += (double)c.Tensors[ti].Values[i] - t.Values[i];
                values[i] = (float)(t.Values[i] + (sum + sigma * noise.NextGaussian()) / uploads.Count);
            }
            return t with { Values = values };
        }).ToList());
    }
}

/// <summary>
/// <see cref="FedAvgStrategy"/> with <see cref="ClientPrivacy"/>'s noised mean in place of the method's weighted mean, for
/// methods whose aggregation is a weighted mean of the weights (the round engine refuses others). Each upload is reported at
/// 1/n; the noise of round r is drawn from the experiment seed and r alone.
/// </summary>
/// <param name="rules">The round rules.</param>
/// <param name="privacy">The privacy settings; on.</param>
/// <param name="seed">The experiment seed the noise derives from.</param>
public sealed class PrivateStrategy(RoundRules rules, ClientPrivacy privacy, ulong seed) : FedAvgStrategy(rules)
{
    /// <summary>The privacy settings.</summary>
    public ClientPrivacy Privacy { get; } = privacy;

    /// <inheritdoc />
    public override ServerAggregate Aggregate(RoundAggregation aggregation)
    {
        var uploads = aggregation.Contributions();
        var noised = Privacy.Aggregate(aggregation.PreviousGlobal, uploads, SeededRandom.Derive(seed, $"dp-noise/round-{aggregation.Round}"));
        return new ServerAggregate(noised, uploads.ToDictionary(u => u.Contributor, _ => 1.0 / uploads.Count, StringComparer.Ordinal));
    }
}
