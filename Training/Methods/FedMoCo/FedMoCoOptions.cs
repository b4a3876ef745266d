namespace FedActors.Training.Methods.FedMoCo;

/// <summary>
/// FedMoCo's two modules (ALGORITHMS.md §1), each of which can be switched off for ablation.
/// Both are the ASSUMED forms: the paper's text beyond its abstract was not available.
/// </summary>
public sealed record FedMoCoOptions
{
    /// <summary>Metadata transfer: sites upload intensity statistics once; views are re-standardised to other sites'.</summary>
    public bool MetadataTransfer { get; init; } = true;

    /// <summary>p_meta: the chance a view is re-standardised to another site's statistics.</summary>
    public double MetaProbability { get; init; } = 0.5;

    /// <summary>Self-adaptive aggregation: clients upload RSA ρ, the server weighs by n_i · max(ρ_i, 0)^γ.</summary>
    public bool RsaAggregation { get; init; } = true;

    /// <summary>γ ≥ 0, the exponent of ρ in the aggregation weights (default 1; config key <c>fedmoco.gamma</c>).</summary>
    public double Gamma { get; init; } = 1;

    /// <summary>Whether the server favours clients similar to the global (<see cref="RsaMode.Similar"/>, the default) or dissimilar ones (ablation).</summary>
    public RsaMode RsaMode { get; init; } = RsaMode.Similar;

    /// <summary>B, the local images of the probe batch whose RDMs are compared.</summary>
    public int RsaProbeBatch { get; init; } = 64;

    /// <summary>Throws <see cref="ArgumentException"/> unless p_meta is in [0, 1], γ is finite and ≥ 0 and the probe batch is at least 3.</summary>
    public void Validate()
    {
        if (MetaProbability is < 0 or > 1 || double.IsNaN(MetaProbability))
            throw new ArgumentException($"fedmoco: p-meta must be in [0, 1], found {MetaProbability}.");
        if (!(Gamma >= 0) || double.IsInfinity(Gamma)) throw new ArgumentException($"fedmoco: gamma must be finite and ≥ 0, found {Gamma}.");
        if (RsaProbeBatch < 3) throw new ArgumentException($"fedmoco: rsa-probe-batch must be at least 3, found {RsaProbeBatch}.");
    }
}
