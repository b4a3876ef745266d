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
    public const string Name = "fedmoco";
    private const string SitesState = "sites";
    private readonly SortedDictionary<string, SiteStatistics> _sites = new(StringComparer.Ordinal);

    public string Method => Name;

    public IReadOnlyCollection<SiteStatistics> KnownSites => _sites.Values;

    public MethodPayloads Broadcast(int round, string hospitalId) => options.MetadataTransfer && _sites.Count > 0
        ? MethodPayloads.Of((FedMoCoClient.StatisticsPayload, new StatisticsPayload(_sites.Values.ToList())))
        : MethodPayloads.Empty;

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

    public byte[] SaveState()
    {
        using var buffer = new MemoryStream();
        using (var w = new BinaryWriter(buffer))
            PayloadFormat.Write(w, MethodPayloads.Of((SitesState, new StatisticsPayload(_sites.Values.ToList()))));
        return buffer.ToArray();
    }

    public void LoadState(byte[] state, string source)
    {
        using var r = new BinaryReader(new MemoryStream(state, writable: false));
        var sites = PayloadFormat.Read(r, source).Get<StatisticsPayload>(SitesState, source);
        if (r.BaseStream.Position != state.Length) throw new InvalidDataException($"{source}: {state.Length - r.BaseStream.Position} bytes left over.");
        _sites.Clear();
        foreach (var s in sites.Sites) _sites[s.SiteId] = s;
    }
}
