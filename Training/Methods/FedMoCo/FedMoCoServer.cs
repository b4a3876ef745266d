using FedActors.Training.Data;
using FedActors.Training.Weights;

namespace FedActors.Training.Methods.FedMoCo;

/// <summary>
/// FedMoCo's server (ALGORITHMS.md §1, ASSUMED forms): keeps every site's uploaded intensity
/// statistics and broadcasts the set each round (metadata transfer); aggregates with
/// a_i ∝ n_i · max(ρ_i, 0)^γ from the clients' RSA ρ, falling back to n_i when no ρ is positive
/// (self-adaptive aggregation). With a module off it does without that part.
/// </summary>
public sealed class FedMoCoServer(FedMoCoOptions options) : IFederatedServer
{
    /// <summary>FedMoCo's config name, <c>fedmoco</c>.</summary>
    public const string Name = "fedmoco";
    private const string SitesState = "sites";
    private readonly SortedDictionary<string, SiteStatistics> _sites = new(StringComparer.Ordinal);

    /// <inheritdoc/>
    public string Method => Name;

    /// <summary>Every site's statistics received so far (the latest per site), in site-id order; part of the checkpointed state.</summary>
    public IReadOnlyCollection<SiteStatistics> KnownSites => _sites.Values;

    /// <summary>The same for every hospital: all known site statistics (<see cref="FedMoCoClient.StatisticsPayload"/>) when metadata transfer is on and any are known; nothing otherwise.</summary>
    /// <param name="round">The round (unused).</param>
    /// <param name="hospitalId">The hospital (unused).</param>
    public MethodPayloads Broadcast(int round, string hospitalId) => options.MetadataTransfer && _sites.Count > 0
        ? MethodPayloads.Of((FedMoCoClient.StatisticsPayload, new StatisticsPayload(_sites.Values.ToList())))
        : MethodPayloads.Empty;

    /// <summary>
    /// Rejects an upload that lacks its RSA ρ or carries one outside [−1, 1] (when RSA aggregation is on), or whose site
    /// statistics are not the uploader's alone, or have a non-finite mean or a non-finite or negative std.
    /// </summary>
    /// <param name="round">The round (unused).</param>
    /// <param name="upload">The upload whose extras are checked.</param>
    /// <returns>The reason to reject it, or null.</returns>
    public string? Check(int round, ClientContribution upload)
    {
        if (options.RsaAggregation)
        {
            if (!upload.Extras.TryGet<ScalarPayload>(FedMoCoClient.RhoPayload, out var rho)) return $"no '{FedMoCoClient.RhoPayload}' scalar (RSA aggregation is on)";
            if (!(rho.Value >= -1 - 1e-9 && rho.Value <= 1 + 1e-9)) return $"RSA ρ {rho.Value} is not a correlation";
        }
        if (upload.Extras.TryGet<StatisticsPayload>(FedMoCoClient.StatisticsPayload, out var stats))
        {
            if (stats.Sites.Count != 1 || stats.Sites[0].SiteId != upload.HospitalId)
                return $"site statistics must describe the uploading site '{upload.HospitalId}' alone, found [{string.Join(", ", stats.Sites.Select(s => s.SiteId))}]";
            var s = stats.Sites[0];
            if (!double.IsFinite(s.Mean) || !double.IsFinite(s.Std) || s.Std < 0) return $"site statistics mean {s.Mean}, std {s.Std}";
        }
        return null;
    }

    /// <summary>Records uploaded site statistics (with metadata transfer on), then averages with the RSA weights, or by sample count when RSA aggregation is off.</summary>
    /// <param name="round">The round (unused).</param>
    /// <param name="previousGlobal">The previous global (unused: it is replaced).</param>
    /// <param name="accepted">The accepted uploads, at least one.</param>
    public ServerAggregate Aggregate(int round, ModelWeights previousGlobal, IReadOnlyList<ClientContribution> accepted)
    {
        foreach (var u in accepted)
            if (options.MetadataTransfer && u.Extras.TryGet<StatisticsPayload>(FedMoCoClient.StatisticsPayload, out var stats))
                _sites[u.HospitalId] = stats.Sites[0];
        var samples = accepted.Select(u => (long)u.Samples).ToList();
        IReadOnlyList<double> weights = options.RsaAggregation
            ? RepresentationalSimilarity.AggregationWeights(samples,
                accepted.Select(u => u.Extras.Get<ScalarPayload>(FedMoCoClient.RhoPayload, u.HospitalId).Value).ToList(), options.Gamma, options.RsaMode)
            : samples.Select(n => (double)n).ToList();
        return FederatedAveragingServer.Weighted(accepted, weights);
    }

    /// <summary>The known site statistics, in <see cref="PayloadFormat"/>.</summary>
    public byte[] SaveState()
    {
        using var buffer = new MemoryStream();
        using (var w = new BinaryWriter(buffer))
            PayloadFormat.Write(w, MethodPayloads.Of((SitesState, new StatisticsPayload(_sites.Values.ToList()))));
        return buffer.ToArray();
    }

    /// <summary>Replaces the known sites with those <see cref="SaveState"/> wrote; throws <see cref="InvalidDataException"/> naming <paramref name="source"/> on malformed or left-over bytes.</summary>
    /// <param name="state">The checkpointed server state.</param>
    /// <param name="source">Where it came from, for the error message.</param>
    public void LoadState(byte[] state, string source)
    {
        using var r = new BinaryReader(new MemoryStream(state, writable: false));
        var sites = PayloadFormat.Read(r, source).Get<StatisticsPayload>(SitesState, source);
        if (r.BaseStream.Position != state.Length) throw new InvalidDataException($"{source}: {state.Length - r.BaseStream.Position} bytes left over.");
        _sites.Clear();
        foreach (var s in sites.Sites) _sites[s.SiteId] = s;
    }
}
