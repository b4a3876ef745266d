using FedActors.Training.Augmentations;
using FedActors.Training.Data;
using FedActors.Training.Models;
using FedActors.Training.Objectives;
using FedActors.Training.Randomness;
using FedActors.Training.Weights;
using static TorchSharp.torch;

namespace FedActors.Training.Methods.FedMoCo;

/// <summary>
/// A FedMoCo hospital: MoCo v2 locally, plus the two modules (ALGORITHMS.md §1, ASSUMED forms).
/// Metadata transfer: it uploads its intensity statistics until the server's broadcast lists them,
/// and re-standardises views to the other sites' broadcast statistics with probability p_meta.
/// Self-adaptive aggregation: after training it compares, on a probe batch of its own images, the
/// RDM of its model with the RDM of the global model it received, and uploads only their Spearman ρ.
/// Between rounds it keeps exactly the MoCo learner's state: the rest arrives with every broadcast.
/// </summary>
public sealed class FedMoCoClient : IFederatedClient
{
    /// <summary>The payload name of the site statistics: a client's own (upload) and every known site's (broadcast).</summary>
    public const string StatisticsPayload = "site-statistics";
    /// <summary>The payload name of the uploaded Spearman ρ between the trained and the received global model's RDMs.</summary>
    public const string RhoPayload = "rsa-rho";

    private readonly MoCoV2Learner _learner;
    private readonly Func<ProjectedEncoder> _network;
    private readonly string _hospitalId;
    private readonly FedMoCoOptions _options;
    private readonly ulong _seed;
    private IReadOnlyList<SiteStatistics> _known = [];
    private SiteStatistics? _own;
    private ModelWeights? _global;
    private ProjectedEncoder? _globalNetwork;

    /// <summary>Creates a FedMoCo hospital around its MoCo v2 learner.</summary>
    /// <param name="learner">The MoCo v2 learner; the client owns it and disposes it.</param>
    /// <param name="network">Builds the experiment's network, into which the received global is loaded for the RSA probe.</param>
    /// <param name="hospitalId">The hospital's id, also its site id in the statistics.</param>
    /// <param name="options">The FedMoCo modules' settings; validated here (throws <see cref="ArgumentException"/>).</param>
    /// <param name="seed">The seed of its RSA probe batches, kept apart from the learner's random stream.</param>
    public FedMoCoClient(MoCoV2Learner learner, Func<ProjectedEncoder> network, string hospitalId, FedMoCoOptions options, ulong seed)
    {
        options.Validate();
        _learner = learner;
        _network = network;
        _hospitalId = hospitalId;
        _options = options;
        _seed = seed;
    }

    /// <summary>The MoCo v2 learner it wraps (owned by this client).</summary>
    public MoCoV2Learner Learner => _learner;

    /// <summary>Keeps the broadcast site statistics (none if the broadcast has none) for this round's re-standardisation.</summary>
    /// <param name="round">The round (unused).</param>
    /// <param name="broadcast">What the server sent beside the global model.</param>
    public void ReceiveBroadcast(int round, MethodPayloads broadcast) =>
        _known = broadcast.TryGet<StatisticsPayload>(StatisticsPayload, out var s) ? s.Sites : [];

    /// <summary>Loads <paramref name="global"/> into the learner and keeps it as the reference of this round's RSA ρ.</summary>
    /// <param name="global">The round's global model.</param>
    public void LoadGlobal(ModelWeights global)
    {
        _global = global;
        _learner.LoadGlobal(global);
    }

    /// <summary>
    /// Trains MoCo v2 on <paramref name="shard"/>, re-standardising views to other sites' statistics when metadata transfer is on,
    /// another site is known and the own intensity std is positive. Measures its own statistics on first use.
    /// </summary>
    /// <param name="shard">The hospital's training images.</param>
    public LocalTrainingResult Train(ImageShard shard)
    {
        _own ??= SiteStatistics.Of(_hospitalId, shard);
        // Only with other sites to imitate; the own site's statistics are the ones its images already have.
        _learner.Restandardisation = _options.MetadataTransfer && _known.Any(s => s.SiteId != _hospitalId) && _own.Std > 0
            ? new CrossSiteRestandardisation(_own, _known, _options.MetaProbability)
            : null;
        return _learner.Train(shard);
    }

    /// <summary>
    /// Its own site statistics while the server's broadcast does not list them yet (metadata transfer), and the RSA ρ
    /// on a seeded probe batch of at most <see cref="FedMoCoOptions.RsaProbeBatch"/> images (self-adaptive aggregation).
    /// Throws <see cref="InvalidOperationException"/> for RSA without a loaded global or with fewer than 3 local images.
    /// </summary>
    /// <param name="round">The round, which seeds the probe batch.</param>
    /// <param name="shard">The hospital's training images.</param>
    public MethodPayloads CollectUpload(int round, ImageShard shard)
    {
        var parts = new List<(string, Payload)>();
        if (_options.MetadataTransfer && _known.All(s => s.SiteId != _hospitalId))
            parts.Add((StatisticsPayload, new StatisticsPayload([_own ??= SiteStatistics.Of(_hospitalId, shard)])));
        if (_options.RsaAggregation) parts.Add((RhoPayload, new ScalarPayload(Rho(round, shard))));
        return MethodPayloads.Of([.. parts]);
    }

    /// <summary>ρ between the trained model's and the received global model's RDMs on a seeded probe batch of local images.</summary>
    private double Rho(int round, ImageShard shard)
    {
        if (_global is null) throw new InvalidOperationException($"{_hospitalId}: RSA needs the round's global model; LoadGlobal was not called.");
        var batch = Math.Min(_options.RsaProbeBatch, shard.Count);
        if (batch < 3) throw new InvalidOperationException($"{_hospitalId}: RSA needs at least 3 local images, the shard has {shard.Count}.");
        // Its own generator: the probe batch must not shift the learner's random stream.
        var rng = SeededRandom.Derive(_seed, $"{_hospitalId}/rsa/round-{round}");
        var indices = rng.Permutation(shard.Count).Take(batch).Order().ToArray();
        _globalNetwork ??= TorchRuntime.Seeded(0, _network);
        _global.LoadInto(_globalNetwork);
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        var images = shard.Images(indices, CPU);
        _learner.Query.eval();
        _globalNetwork.eval();
        var local = _learner.Query.Features(images.to(_learner.Query.parameters().First().device)).cpu();
        var global = _globalNetwork.Features(images);
        return RepresentationalSimilarity.Rho(local, global);
    }

    /// <summary>The learner's query network weights: what the hospital uploads.</summary>
    public ModelWeights ExportWeights() => _learner.ExportWeights();
    /// <summary>The MoCo learner's state fingerprint (optimiser steps, queue, random stream).</summary>
    public LocalStateSummary DescribeState() => _learner.DescribeState();
    /// <summary>Writes the MoCo learner's state only: everything else arrives again with each broadcast.</summary>
    /// <param name="stream">Where to write it.</param>
    public void SaveState(Stream stream) => _learner.SaveState(stream);
    /// <inheritdoc/>
    public void LoadState(Stream stream, string source) => _learner.LoadState(stream, source);
    /// <inheritdoc/>
    public void MoveTo(Device device) => _learner.MoveTo(device);

    /// <summary>Disposes the learner and the network kept for the RSA probe.</summary>
    public void Dispose()
    {
        _globalNetwork?.DisposeTree();
        _learner.Dispose();
    }
}
