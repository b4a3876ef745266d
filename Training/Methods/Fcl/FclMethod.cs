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
public sealed class FclClient(FclLearner learner, string hospitalId) : LearnerClient<FclLearner>(learner), IFederatedClient
{
    public const string FeaturesPayload = "features";

    public void ReceiveBroadcast(int round, MethodPayloads broadcast) =>
        Learner.SetRemoteFeatures(broadcast.Parts.Select(p => p.Value).OfType<FeaturesPayload>()
            .Select(f => (f.Values, f.Partitions)).ToList(), $"round {round}'s broadcast to {hospitalId}");

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
public sealed class FclServer(FclOptions options, int featureDim) : IFederatedServer
{
    public const string Name = "fcl";
    private readonly SortedDictionary<string, FeaturesPayload> _features = new(StringComparer.Ordinal);

    public string Method => Name;

    /// <summary>The sites whose features the server holds.</summary>
    public IReadOnlyCollection<string> Sites => _features.Keys;

    public MethodPayloads Broadcast(int round, string hospitalId) =>
        new(_features.Where(f => f.Key != hospitalId).Select(f => KeyValuePair.Create($"{FclClient.FeaturesPayload}/{f.Key}", (Payload)f.Value)));

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

    public ServerAggregate Aggregate(int round, ModelWeights previousGlobal, IReadOnlyList<ClientContribution> accepted)
    {
        foreach (var u in accepted) _features[u.HospitalId] = u.Extras.Get<FeaturesPayload>(FclClient.FeaturesPayload, u.HospitalId);
        return FederatedAveragingServer.Weighted(accepted, accepted.Select(u => (double)u.Samples).ToList());
    }

    public byte[] SaveState()
    {
        using var buffer = new MemoryStream();
        using (var w = new BinaryWriter(buffer))
            PayloadFormat.Write(w, new MethodPayloads(_features.Select(f => KeyValuePair.Create(f.Key, (Payload)f.Value))));
        return buffer.ToArray();
    }

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

/// <summary>FCL (ALGORITHMS.md §2) on the experiment's slices: partition-aware contrastive clients with feature exchange, FedAvg.</summary>
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

    /// <summary>FCL on volumes.</summary>
    public static MethodRegistration Registration { get; } = new(FclServer.Name,
        "partition-aware MoCo on slices with feature exchange (ALGORITHMS.md §2)", (experiment, settings) => new FclMethod(experiment, OptionsOf(experiment, settings)))
    {
        Keys = SharedKeys,
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

    public string Name => FclServer.Name;

    public ILocalLearner CreateClient(string hospitalId) => new FclClient(CreateLearner(experiment, options, hospitalId), hospitalId);

    /// <summary>Hospital <paramref name="hospitalId"/>'s FCL learner, seeded from the experiment.</summary>
    public static FclLearner CreateLearner(FederatedExperiment experiment, FclOptions options, string hospitalId) =>
        new(experiment.CreateNetwork, FedSimClrMethod.OptionsLike(experiment.Settings.MoCo, options.Temperature), options,
            new ViewAugmenter(experiment.Settings.Augmentation), SeededRandom.DeriveSeed(experiment.Settings.Seed, $"{hospitalId}/learner"), experiment.Device);

    public IFederatedServer CreateServer() => new FclServer(options, experiment.Settings.ProjectionDim);

    public ModelWeights InitialGlobal() => experiment.InitialGlobal();
}
