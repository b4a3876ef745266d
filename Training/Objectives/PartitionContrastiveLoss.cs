using TorchSharp;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace FedActors.Training.Objectives;

/// <summary>Feature rows [N, D] and the volume partition (slice-position bin) of each row, [N] int64.</summary>
/// <param name="Features">[N, D] feature rows, on the same device as <paramref name="Partitions"/>.</param>
/// <param name="Partitions">[N] int64 partition index of each row.</param>
public sealed record PartitionedFeatures(Tensor Features, Tensor Partitions)
{
    /// <summary>Number of feature rows N.</summary>
    public long Count => Features.shape[0];

    internal void Validate(string what)
    {
        if (Features.dim() != 2 || Partitions.dim() != 1 || Partitions.shape[0] != Features.shape[0])
            throw new ArgumentException(
                $"{what}: need features [N, D] and partitions [N], found [{string.Join(',', Features.shape)}] and [{string.Join(',', Partitions.shape)}].");
        if (Partitions.dtype != ScalarType.Int64)
            throw new ArgumentException($"{what}: partition ids must be int64, found {Partitions.dtype}.");
    }
}

/// <summary>
/// FCL's partition-aware contrastive loss (Wu et al. 2021, ALGORITHMS.md §2): slices of the
/// same partition are positives, slices of other partitions negatives.
/// <c>L = L_local + L_remote</c>, each term of the form
/// <c>−1/|P(q)| Σ_{k⁺∈P(q)} log[ exp(q·k⁺/τ) / (exp(q·k⁺/τ) + Σ_{n∈Q′, part(n)≠part(q)} exp(q·n/τ)) ]</c>
/// averaged over queries, with P(q) the local features of q's partition (L_local) or the
/// remote features of q's partition, Λ(q) (L_remote, global structural matching).
/// Queries with no positive in a term (their partition absent from that set) are left out
/// of that term's mean: their term is undefined, not zero. A term with no such query at
/// all is 0 (still attached to the graph, so backward works, e.g. before any remote
/// features have arrived).
/// </summary>
public static class PartitionContrastiveLoss
{
    /// <summary>τ = 0.1: ASSUMED (the paper's text with the value was unavailable).</summary>
    public const double DefaultTemperature = 0.1;

    // Logit given to excluded negatives: exp() of it is 0 yet, unlike −∞, its gradient is never NaN.
    private const double ExcludedLogit = -1e9;

    /// <summary>The full loss L_local + L_remote for a batch of queries.</summary>
    /// <param name="queries">Query-encoder features q (L2-normalised) and their partitions.</param>
    /// <param name="local">The client's own (momentum) features, the positives of L_local.</param>
    /// <param name="remote">Other clients' features, the positives of L_remote (may be empty).</param>
    /// <param name="negatives">
    /// Q′: the bounded pool of negative candidates, sampled by the caller from local + remote;
    /// only rows of a partition other than the query's count as its negatives.
    /// </param>
    /// <param name="temperature">τ, positive.</param>
    /// <returns>A scalar tensor in the caller's dispose scope, attached to the graph of the inputs.</returns>
    public static Tensor Compute(PartitionedFeatures queries, PartitionedFeatures local, PartitionedFeatures remote,
        PartitionedFeatures negatives, double temperature = DefaultTemperature)
    {
        using var scope = NewDisposeScope();
        return (Term(queries, local, negatives, temperature) + Term(queries, remote, negatives, temperature)).MoveToOuterDisposeScope();
    }

    /// <summary>One term (L_local or L_remote) for the given positive set.</summary>
    public static Tensor Term(PartitionedFeatures queries, PartitionedFeatures positives, PartitionedFeatures negatives,
        double temperature = DefaultTemperature)
    {
        if (temperature <= 0) throw new ArgumentOutOfRangeException(nameof(temperature), temperature, "must be positive");
        queries.Validate(nameof(queries));
        positives.Validate(nameof(positives));
        negatives.Validate(nameof(negatives));
        using var scope = NewDisposeScope();
        var q = queries.Features;
        var queryPartition = queries.Partitions.unsqueeze(1);
        using var tau = temperature.ToScalar(); // held for the calls (see ScalarSafeSgd)
        var positiveLogits = q.matmul(positives.Features.t()) / tau;                               // [B, P]
        var isPositive = queryPartition.eq(positives.Partitions.unsqueeze(0)).to_type(q.dtype);    // [B, P]
        var negativeLogits = (q.matmul(negatives.Features.t()) / tau)
            .masked_fill(queryPartition.eq(negatives.Partitions.unsqueeze(0)), ExcludedLogit);     // [B, M]
        var negativeLse = negatives.Count == 0
            ? full(q.shape[0], 1, ExcludedLogit, dtype: q.dtype, device: q.device)
            : negativeLogits.logsumexp(1, keepdim: true);                                          // [B, 1]
        // −log(e^s / (e^s + Σe^n)) = log(1 + e^(lse(n) − s)) = softplus(lse(n) − s)
        var perPair = F.softplus(negativeLse - positiveLogits);
        var positiveCount = isPositive.sum(1);
        var perQuery = (perPair * isPositive).sum(1) / positiveCount.clamp_min(1);
        var hasPositive = positiveCount.gt(0).to_type(q.dtype);
        return ((perQuery * hasPositive).sum() / hasPositive.sum().clamp_min(1)).MoveToOuterDisposeScope();
    }
}
