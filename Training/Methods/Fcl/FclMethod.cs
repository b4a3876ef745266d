using FedActors.Training.Augmentations;
using FedActors.Training.Data;
using FedActors.Training.Experiments;
using FedActors.Training.Objectives;
using FedActors.Training.Randomness;
using FedActors.Training.Weights;
using static TorchSharp.torch;

namespace FedActors.Training.Methods.Fcl;

/// <summary>
/// An FCL hospital (ALGORITHMS.md §2): <see cref="FclLearner"/> locally; before each round it takes
/// the other sites' features from the broadcast as its remote features, and after it uploads the
/// momentum features of a bounded sample of its slices, tagged with their partitions. Only
/// features leave the site.
/// </summary>
/// <param name="learner">The local learner.</param>
/// <param name="hospitalId">The hospital, named in its uploads.</param>
public sealed class FclClient(FclLearner learner, string hospitalId) : LearnerClient<FclLearner>(learner), IFederatedClient
{
    /// <summary>The name of the features in an upload (and, suffixed with the site, in a broadcast).</summary>
    public const string FeaturesPayload = "features";

    /// <summary>Takes the other sites' features from <paramref name="broadcast"/> as this round's remote features.</summary>
    /// <param name="round">The round.</param>
    /// <param name="broadcast">What the server sent beside the global model.</param>
    public void ReceiveBroadcast(int round, MethodPayloads broadcast) =>
        Learner.SetRemoteFeatures(broadcast.Parts.Select(p => p.Value).OfType<FeaturesPayload>()
            .Select(f => (f.Values, f.Partitions)).ToList(), $"round {round}'s broadcast to {hospitalId}");

    /// <summary>The features this site exchanges (<see cref="FclLearner.ExchangeFeatures(ImageShard)"/>), tagged with their partitions.</summary>
    /// <param name="round">The round.</param>
    /// <param name="shard">The hospital's slices.</param>
    public MethodPayloads CollectUpload(int round, ImageShard shard)
    {
        var (values, partitions) = Learner.ExchangeFeatures(shard);
        return MethodPayloads.Of((FeaturesPayload, new FeaturesPayload(values, values.Length / Math.Max(1, partitions.Length), partitions, hospitalId)));
    }
}

/// <summary>
/// FCL's server (ALGORITHMS.md §2): FedAvg of the query encoders; it keeps each site's latest
/// uploaded features (a new upload replaces the site's old ones) and sends every hospital the
/// features of all the other sites, one payload per site. Uploads whose features are not
/// <see cref="FclOptions.ExchangeSize"/> rows or fewer of the agreed width, of valid partitions,
/// from the uploading site, are rejected.
/// </summary>
/// <param name="options">FCL's options (exchange size, partitions).</param>
/// <param name="featureDim">The width of the exchanged features (the projection's).</param>
public sealed class FclServer(FclOptions options, int featureDim) : IFederatedServer
{
    /// <summary>The method's name.</summary>
    public const string Name = "fcl";
    private readonly SortedDictionary<string, FeaturesPayload> _features = new(StringComparer.Ordinal);

    /// <inheritdoc />
    public string Method => Name;

    /// <summary>The sites whose features the server holds.</summary>
    public IReadOnlyCollection<string> Sites => _features.Keys;

    /// <summary>The features of every site but <paramref name="hospitalId"/>, one payload per site.</summary>
    /// <param name="round">The round.</param>
    /// <param name="hospitalId">The hospital asked to train.</param>
    public MethodPayloads Broadcast(int round, string hospitalId) =>
        new(_features.Where(f => f.Key != hospitalId).Select(f => KeyValuePair.Create($"{FclClient.FeaturesPayload}/{f.Key}", (Payload)f.Value)));

    /// <inheritdoc />
    public string? Check(int round, ClientContribution upload)
    {
        if (!upload.Extras.TryGet<FeaturesPayload>(FclClient.FeaturesPayload, out var f)) return $"no '{FclClient.FeaturesPayload}' payload";
        if (upload.Extras.Count != 1) return $"payloads other than '{FclClient.FeaturesPayload}': {string.Join(", ", upload.Extras.Names)}";
        if (f.Site != upload.HospitalId) return $"features labelled as site '{f.Site}'";
        if (f.Dimension != featureDim) return $"features of width {f.Dimension}, the encoder's projection is {featureDim}";
        if (f.Count == 0 || f.Count > options.ExchangeSize) return $"{f.Count} feature rows, expected 1 to {options.ExchangeSize}";
        try { f.Validate(); }
        catch (InvalidDataException e) { return e.Message; }
        if (f.Partitions.Any(p => p < 0 || p >= options.Partitions)) return $"a partition id outside [0, {options.Partitions})";
        return null;
    }

    /// <summary>Keeps each accepted site's features (replacing its old ones); FedAvg of the query encoders.</summary>
    /// <param name="round">The round.</param>
    /// <param name="previousGlobal">The round's global.</param>
    /// <param name="accepted">The accepted uploads.</param>
    public ServerAggregate Aggregate(int round, ModelWeights previousGlobal, IReadOnlyList<ClientContribution> accepted)
    {
        foreach (var u in accepted) _features[u.HospitalId] = u.Extras.Get<FeaturesPayload>(FclClient.FeaturesPayload, u.HospitalId);
        return FederatedAveragingServer.Weighted(accepted, accepted.Select(u => (double)u.Samples).ToList());
    }

    /// <inheritdoc />
    public byte[] SaveState()
    {
        using var buffer = new MemoryStream();
        using (var w = new BinaryWriter(buffer))
            PayloadFormat.Write(w, new MethodPayloads(_features.Select(f => KeyValuePair.Create(f.Key, (Payload)f.Value))));
        return buffer.ToArray();
    }

    /// <inheritdoc />
    public void LoadState(byte[] state, string source)
    {
        using var r = new BinaryReader(new MemoryStream(state, writable: false));
        var saved = PayloadFormat.Read(r, source);
        if (r.BaseStream.Position != state.Length) throw new InvalidDataException($"{source}: {state.Length - r.BaseStream.Position} bytes left over.");
        _features.Clear();
        foreach (var (site, payload) in saved.Parts)
            _features[site] = payload as FeaturesPayload ?? throw new InvalidDataException($"{source}: entry '{site}' is {payload.Kind}, not features; is it another method's checkpoint?");
    }
}

/// <summary>
/// FCL (ALGORITHMS.md §2) on the experiment's slices: partition-aware contrastive clients with feature exchange, FedAvg.
/// The exchanged features are computed as <c>fcl.exchange-view</c> says: <c>aligned</c> (the default) exactly as the
/// local keys — the key encoder in training mode (batch-norm on batch statistics) on augmented views, so remote and
/// local positives and negatives come from one distribution; <c>eval-clean</c> — the key encoder in evaluation mode
/// (batch-norm on running statistics) on the un-augmented slices, as before issue 23.
/// </summary>
/// <param name="experiment">The experiment: slices, network, seeds.</param>
/// <param name="options">FCL's options.</param>
public sealed class FclMethod(FederatedExperiment experiment, FclOptions options) : IFederatedMethod
{
    /// <summary><see cref="FclOptions.Temperature"/> (ASSUMED).</summary>
    public static readonly NumberKey Temperature = new("fcl.temperature", PartitionContrastiveLoss.DefaultTemperature, 1e-4, 100, "tau of the partition-aware loss (ASSUMED)");

    /// <summary><see cref="FclOptions.KeyMomentum"/>.</summary>
    public static readonly NumberKey KeyMomentum = new("fcl.key-momentum", 0.99, 0, 0.999999, "momentum of the key encoder");

    /// <summary><see cref="FclOptions.LocalBankSize"/>.</summary>
    public static readonly IntegerKey LocalBank = new("fcl.local-bank", 256, 1, 10_000_000, "the client's own momentum features (FIFO), kept across rounds");

    /// <summary><see cref="FclOptions.Negatives"/>.</summary>
    public static readonly IntegerKey Negatives = new("fcl.negatives", 256, 1, 10_000_000, "negatives per step, other partitions only");

    /// <summary><see cref="FclOptions.ExchangeSize"/>.</summary>
    public static readonly IntegerKey ExchangeSize = new("fcl.exchange-size", 64, 1, 10_000_000, "feature rows a client uploads per round");

    /// <summary>FCL's keys; Local CL reads them too.</summary>
    public static IReadOnlyList<MethodKey> SharedKeys { get; } = [Temperature, KeyMomentum, LocalBank, Negatives, ExchangeSize];

    /// <summary>The words of <see cref="ExchangeView"/>, one per <see cref="FclExchangeView"/>.</summary>
    public static IReadOnlyList<string> ExchangeViews { get; } = ["aligned", "eval-clean"];

    /// <summary><see cref="FclOptions.ExchangeView"/> (FCL only: Local CL exchanges nothing).</summary>
    public static readonly ChoiceKey ExchangeView = new("fcl.exchange-view", ExchangeViews[0], ExchangeViews,
        "exchanged features: aligned = as the local keys (key encoder in training mode, augmented views); eval-clean = evaluation mode, un-augmented slices");

    /// <summary>The view a word of <see cref="ExchangeView"/> names.</summary>
    /// <param name="word">One of <see cref="ExchangeViews"/>.</param>
    public static FclExchangeView ViewOf(string word) => word switch
    {
        "aligned" => FclExchangeView.Aligned,
        "eval-clean" => FclExchangeView.EvalClean,
        _ => throw new ArgumentException($"'{word}' is not one of {string.Join(", ", ExchangeViews)}.", nameof(word)),
    };

    /// <summary>FCL on volumes.</summary>
    public static MethodRegistration Registration { get; } = new(FclServer.Name,
        "partition-aware MoCo on slices with feature exchange (ALGORITHMS.md §2)",
        (experiment, settings) => new FclMethod(experiment, OptionsOf(experiment, settings) with { ExchangeView = ViewOf(settings.Get(ExchangeView)) }))
    {
        Keys = [.. SharedKeys, ExchangeView],
        Data = MethodData.Volumes,
    };

    /// <summary>FCL's options as <paramref name="settings"/> set them, with the experiment's partitions.</summary>
    public static FclOptions OptionsOf(FederatedExperiment experiment, MethodSettings settings) => new()
    {
        Temperature = settings.Get(Temperature),
        KeyMomentum = settings.Get(KeyMomentum),
        LocalBankSize = settings.Get(LocalBank),
        Negatives = settings.Get(Negatives),
        ExchangeSize = settings.Get(ExchangeSize),
        Partitions = experiment.Settings.Partitions,
    };

    /// <inheritdoc />
    public string Name => FclServer.Name;

    /// <summary>Hospital <paramref name="hospitalId"/>'s FCL client.</summary>
    /// <param name="hospitalId">The hospital.</param>
    public ILocalLearner CreateClient(string hospitalId) => new FclClient(CreateLearner(experiment, options, hospitalId), hospitalId);

    /// <summary>Hospital <paramref name="hospitalId"/>'s FCL learner, seeded from the experiment.</summary>
    public static FclLearner CreateLearner(FederatedExperiment experiment, FclOptions options, string hospitalId) =>
        new(experiment.CreateNetwork, FedSimClrMethod.OptionsLike(experiment.Settings.MoCo, options.Temperature), options,
            new ViewAugmenter(experiment.Settings.Augmentation), SeededRandom.DeriveSeed(experiment.Settings.Seed, $"{hospitalId}/learner"), experiment.Device);

    /// <summary>The server, checking uploads against the projection width.</summary>
    public IFederatedServer CreateServer() => new FclServer(options, experiment.Settings.ProjectionDim);

    /// <summary>The experiment's initial network.</summary>
    public ModelWeights InitialGlobal() => experiment.InitialGlobal();
}
