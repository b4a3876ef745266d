using FedActors.Training.Aggregation;
using FedActors.Training.Augmentations;
using FedActors.Training.Data;
using FedActors.Training.Experiments;
using FedActors.Training.Objectives;
using FedActors.Training.Randomness;
using FedActors.Training.Weights;
using static TorchSharp.torch;

namespace FedActors.Training.Methods.Fcl;

/// <summary>
/// The low-bandwidth framework's switches (ALGORITHMS.md §3). All three modules are ASSUMED forms,
/// documented in the README: FCLOpt alone downloads the global target and uploads the client's;
/// <see cref="Ptnu"/> predicts the target instead of downloading it; <see cref="Dp"/> (needs PTNU)
/// skips the upload while the prediction stays within <see cref="Delta"/> of the target last uploaded.
/// </summary>
public sealed record FclOptOptions
{
    /// <summary>S, the slice-position partitions (the experiment's).</summary>
    public int Partitions { get; init; } = 4;

    /// <summary>PTNU: ξ̂_t = m·ξ̂_{t−1} + (1 − m)·θ_g,t on the client (and on the server), with m = <see cref="RoundMomentum"/>.</summary>
    public bool Ptnu { get; init; }

    /// <summary>m of PTNU's round-level EMA (ASSUMED 0.9: the paper's value was unavailable).</summary>
    public double RoundMomentum { get; init; } = 0.9;

    /// <summary>DP: upload the target only when ‖ξ̂ − ξ_last‖₂ / ‖ξ_last‖₂ exceeds <see cref="Delta"/>.</summary>
    public bool Dp { get; init; }

    /// <summary>δ, DP's threshold on the relative distance (ASSUMED 0.05).</summary>
    public double Delta { get; init; } = 0.05;

    /// <summary>Throws on an option out of range, or DP without PTNU.</summary>
    public void Validate()
    {
        if (Partitions < 1) throw new ArgumentOutOfRangeException(nameof(Partitions), Partitions, "at least 1");
        if (!(RoundMomentum is >= 0 and <= 1)) throw new ArgumentOutOfRangeException(nameof(RoundMomentum), RoundMomentum, "in [0, 1]");
        if (!(Delta >= 0)) throw new ArgumentOutOfRangeException(nameof(Delta), Delta, "at least 0");
        if (Dp && !Ptnu) throw new ArgumentException("DP is built on PTNU: switch PTNU on to use it.");
    }
}

/// <summary>
/// The rules FCLOpt's client and server share (ALGORITHMS.md §3, ASSUMED forms), so that both compute the same
/// prediction and the same upload decision from what both know.
/// </summary>
public static class FclOptRules
{
    /// <summary>
    /// PTNU's step: ξ̂_t = m·ξ̂_{t−1} + (1 − m)·θ_g,t; with no previous prediction (the first global seen), θ_g,t itself.
    /// </summary>
    /// <param name="previous">ξ̂_{t−1}, the last prediction (never a trained target), or null before the first.</param>
    /// <param name="globalEncoder">θ_g,t, the encoder of round t's global online network.</param>
    /// <param name="m">The round momentum.</param>
    public static ModelWeights Predict(ModelWeights? previous, ModelWeights globalEncoder, double m) =>
        previous is null ? globalEncoder
        : FederatedAveraging.WeightedMean([new("previous prediction", previous, m), new("global encoder", globalEncoder, 1 - m)]);

    /// <summary>DP's relative distance ‖ξ̂ − ξ_last‖₂ / ‖ξ_last‖₂ over the learned tensors (batch-norm statistics left out).</summary>
    /// <param name="prediction">ξ̂_t, this round's prediction.</param>
    /// <param name="lastUploaded">ξ_last, the target the client last uploaded.</param>
    public static double RelativeDistance(ModelWeights prediction, ModelWeights lastUploaded)
    {
        var last = lastUploaded.Learned();
        var norm = Math.Sqrt(last.Tensors.Sum(t => t.Values.Sum(v => (double)v * v)));
        return prediction.Learned().DistanceTo(last) / Math.Max(norm, double.Epsilon);
    }

    /// <summary>
    /// DP's decision: whether the client uploads its target this round. Always without DP, and when it never uploaded;
    /// otherwise exactly when <see cref="RelativeDistance"/>(ξ̂_t, ξ_last) &gt; δ.
    /// </summary>
    /// <param name="options">The method's switches.</param>
    /// <param name="prediction">ξ̂_t (null without PTNU).</param>
    /// <param name="lastUploaded">ξ_last, or null when the client never uploaded.</param>
    /// <param name="distance">The relative distance compared with δ; NaN when there was nothing to compare.</param>
    public static bool Uploads(FclOptOptions options, ModelWeights? prediction, ModelWeights? lastUploaded, out double distance)
    {
        distance = double.NaN;
        if (!options.Dp || lastUploaded is null) return true;
        distance = RelativeDistance(prediction ?? throw new InvalidOperationException("DP needs PTNU's prediction; none was made this round."), lastUploaded);
        return distance > options.Delta;
    }
}

/// <summary>
/// An FCLOpt hospital (ALGORITHMS.md §3, ASSUMED forms). Before training it sets its target network:
/// without PTNU the downloaded global target; with PTNU its prediction ξ̂_t = m·ξ̂_{t−1} + (1 − m)·θ_g,t
/// from its own previous prediction ξ̂_{t−1} (kept in its state; the first global's encoder at first) and
/// the global online encoder it receives anyway — never from the target its training left. After
/// training it uploads its (trained) target ξ, except that with DP it uploads only when
/// ‖ξ̂_t − ξ_last‖₂ / ‖ξ_last‖₂ &gt; δ, ξ_last the target it last uploaded (always, if it never has). Both
/// sides of that comparison are known to the server too, which therefore knows when an upload is due.
/// </summary>
/// <param name="learner">The local learner.</param>
/// <param name="options">The method's switches.</param>
public sealed class FclOptClient(FclOptLearner learner, FclOptOptions options) : LearnerClient<FclOptLearner>(learner), IFederatedClient
{
    /// <summary>The name of the target weights in a broadcast (the global target) and in an upload (the client's).</summary>
    public const string TargetPayload = "target";
    private ModelWeights? _downloaded;

    /// <summary>DP's relative distance at the last upload decision (NaN when there was nothing to compare with).</summary>
    public double LastDistance { get; private set; } = double.NaN;

    /// <summary>Takes the global target from <paramref name="broadcast"/> (FCLOpt without PTNU); with PTNU none comes.</summary>
    /// <param name="round">The round.</param>
    /// <param name="broadcast">What the server sent beside the global model.</param>
    public void ReceiveBroadcast(int round, MethodPayloads broadcast) =>
        _downloaded = broadcast.TryGet<TargetWeightsPayload>(TargetPayload, out var t) ? t.Weights : null;

    /// <summary>Loads the global online network and sets the target: downloaded, or predicted by PTNU's rule (<see cref="FclOptRules.Predict"/>).</summary>
    /// <param name="global">The round's global online network (encoder and predictor).</param>
    public override void LoadGlobal(ModelWeights global)
    {
        Learner.LoadGlobal(global);
        if (!options.Ptnu)
        {
            Learner.SetTarget(_downloaded ?? throw new InvalidDataException("FCLOpt without PTNU needs the global target in the broadcast, none came."));
            return;
        }
        Learner.PredictedTarget = FclOptRules.Predict(Learner.PredictedTarget, global.Submodule(ByolModel.Encoder), options.RoundMomentum);
        Learner.SetTarget(Learner.PredictedTarget);
    }

    /// <summary>PTNU's rule, ξ̂_t = m·ξ̂_{t−1} + (1 − m)·θ_g,t (<see cref="FclOptRules.Predict"/>).</summary>
    /// <param name="previous">ξ̂_{t−1}.</param>
    /// <param name="globalEncoder">θ_g,t.</param>
    /// <param name="m">The round momentum.</param>
    public static ModelWeights PredictTarget(ModelWeights previous, ModelWeights globalEncoder, double m) => FclOptRules.Predict(previous, globalEncoder, m);

    /// <summary>DP's relative distance (<see cref="FclOptRules.RelativeDistance"/>).</summary>
    /// <param name="target">The prediction ξ̂.</param>
    /// <param name="lastUploaded">ξ_last.</param>
    public static double RelativeDistance(ModelWeights target, ModelWeights lastUploaded) => FclOptRules.RelativeDistance(target, lastUploaded);

    /// <summary>The trained target, or nothing when DP says the server's prediction will do (<see cref="FclOptRules.Uploads"/>).</summary>
    /// <param name="round">The round.</param>
    /// <param name="shard">The hospital's slices (unused).</param>
    public MethodPayloads CollectUpload(int round, ImageShard shard)
    {
        var uploads = FclOptRules.Uploads(options, Learner.PredictedTarget, Learner.LastUploadedTarget, out var distance);
        LastDistance = distance;
        if (!uploads) return MethodPayloads.Empty;
        var target = Learner.TargetWeights();
        if (options.Dp) Learner.LastUploadedTarget = target;
        return MethodPayloads.Of((TargetPayload, new TargetWeightsPayload(target)));
    }
}

/// <summary>
/// FCLOpt's server (ALGORITHMS.md §3, ASSUMED forms): FedAvg of the online networks, and, by switch:
/// <list type="bullet">
/// <item>FCLOpt alone: the global target ξ_g = the sample-weighted mean of the accepted clients' uploaded targets,
/// broadcast to every client of the next round (its first round: the initial encoder).</item>
/// <item>PTNU: no global target (no client would receive it): nothing is broadcast beside the model. For each client
/// the server keeps its own prediction ξ̂_i by the client's rule (<see cref="FclOptRules.Predict"/>), one step with
/// the round's global each time it asks that client to train (<see cref="Broadcast"/>), and the client's target as
/// it knows it (<see cref="TargetOf"/>): the one uploaded this round, or else its prediction.</item>
/// <item>DP: it keeps the target each client last uploaded (ξ_last); it accepts a round without upload only when
/// its own prediction is within δ of that (<see cref="FclOptRules.Uploads"/>): the client made the same decision
/// from the same values.</item>
/// </list>
/// The server's prediction follows the client's exactly as long as every request it sends reaches the hospital,
/// which then folds the same global; a request lost before training leaves the server one step ahead (the client's
/// next skipped upload may then be rejected as due). It takes each round's global to be the one its own
/// <see cref="Aggregate"/> returned, and refuses a round whose global is another.
/// </summary>
public sealed class FclOptServer : IFederatedServer
{
    /// <summary>The method's name.</summary>
    public const string Name = "fclopt";
    private const string GlobalTargetState = "global-target";
    private const string GlobalEncoderState = "global-encoder";
    private readonly FclOptOptions _options;
    private ModelWeights? _target;
    private ModelWeights _global;
    private readonly SortedDictionary<string, ModelWeights> _predicted = new(StringComparer.Ordinal);
    private readonly SortedDictionary<string, ModelWeights> _last = new(StringComparer.Ordinal);
    private readonly SortedDictionary<string, ModelWeights> _known = new(StringComparer.Ordinal);

    /// <summary>A server whose first round's global encoder is <paramref name="initialEncoder"/> (the first global target without PTNU).</summary>
    /// <param name="options">The method's switches.</param>
    /// <param name="initialEncoder">The encoder of the initial global online network.</param>
    public FclOptServer(FclOptOptions options, ModelWeights initialEncoder)
    {
        options.Validate();
        _options = options;
        _global = initialEncoder;
        _target = options.Ptnu ? null : initialEncoder;
    }

    /// <inheritdoc />
    public string Method => Name;

    /// <summary>The global target the next round downloads (FCLOpt without PTNU); null with PTNU, which needs none.</summary>
    public ModelWeights? GlobalTarget => _target;

    /// <summary>PTNU: the server's prediction ξ̂ of <paramref name="hospitalId"/>'s target, as of the last round it asked that client; null before.</summary>
    /// <param name="hospitalId">The client.</param>
    public ModelWeights? PredictionFor(string hospitalId) => _predicted.GetValueOrDefault(hospitalId);

    /// <summary>
    /// PTNU: <paramref name="hospitalId"/>'s target as the server knows it after the client's last accepted round: the
    /// target uploaded then, or the server's prediction where DP skipped the upload; null before.
    /// </summary>
    /// <param name="hospitalId">The client.</param>
    public ModelWeights? TargetOf(string hospitalId) => _known.GetValueOrDefault(hospitalId);

    /// <summary>
    /// Without PTNU the global target; with PTNU nothing, and the server steps its prediction of this client's target
    /// with the round's global (once per round and hospital, as the round engine asks).
    /// </summary>
    /// <param name="round">The round.</param>
    /// <param name="hospitalId">The client asked to train.</param>
    public MethodPayloads Broadcast(int round, string hospitalId)
    {
        if (!_options.Ptnu) return MethodPayloads.Of((FclOptClient.TargetPayload, new TargetWeightsPayload(_target!)));
        _predicted[hospitalId] = FclOptRules.Predict(_predicted.GetValueOrDefault(hospitalId), _global, _options.RoundMomentum);
        return MethodPayloads.Empty;
    }

    /// <summary>Why the upload's target (or its absence) is not what the rules allow, or null.</summary>
    /// <param name="round">The round.</param>
    /// <param name="upload">The client's upload.</param>
    public string? Check(int round, ClientContribution upload)
    {
        if (upload.Extras.TryGet<TargetWeightsPayload>(FclOptClient.TargetPayload, out var t))
        {
            var names = _global.Tensors.Select(x => (x.Name, x.Values.Length));
            if (!t.Weights.Tensors.Select(x => (x.Name, x.Values.Length)).SequenceEqual(names)) return "its target network has other tensors than the global encoder";
            return t.Weights.MatchesDeclaredHash ? null : "its target weights do not match their declared hash";
        }
        if (!_options.Dp) return $"no '{FclOptClient.TargetPayload}' weights (every client uploads its target without DP)";
        if (!_last.TryGetValue(upload.HospitalId, out var last)) return "no target uploaded yet, and DP has nothing to stand in for it";
        if (!_predicted.TryGetValue(upload.HospitalId, out var predicted)) return "no target uploaded, and the server has no prediction for this client (it was not asked to train)";
        return FclOptRules.Uploads(_options, predicted, last, out var distance)
            ? $"no target uploaded, but the server's prediction is {distance:G4} > δ = {_options.Delta} from the last upload: one was due (client and server disagree)"
            : null;
    }

    /// <summary>FedAvg of the online networks; the targets as the switches say (see the class).</summary>
    /// <param name="round">The round.</param>
    /// <param name="previousGlobal">The round's global, the one this server's last aggregate returned.</param>
    /// <param name="accepted">The accepted uploads.</param>
    public ServerAggregate Aggregate(int round, ModelWeights previousGlobal, IReadOnlyList<ClientContribution> accepted)
    {
        if (_options.Ptnu && previousGlobal.Submodule(ByolModel.Encoder).ContentHash != _global.ContentHash)
            throw new InvalidOperationException($"FCLOpt's server predicted round {round}'s targets from another global than the round's: PTNU needs the global its own aggregation returned.");
        if (!_options.Ptnu)
            _target = FederatedAveraging.WeightedMean(accepted.Select(u =>
                new WeightedContribution(u.HospitalId, u.Extras.Get<TargetWeightsPayload>(FclOptClient.TargetPayload, u.HospitalId).Weights, u.Samples)).ToList());
        else
            foreach (var u in accepted)
            {
                if (u.Extras.TryGet<TargetWeightsPayload>(FclOptClient.TargetPayload, out var t))
                {
                    if (_options.Dp) _last[u.HospitalId] = t.Weights;
                    _known[u.HospitalId] = t.Weights;
                }
                else _known[u.HospitalId] = _predicted[u.HospitalId];
            }
        var aggregate = FederatedAveragingServer.Weighted(accepted, accepted.Select(u => (double)u.Samples).ToList());
        _global = aggregate.Global.Submodule(ByolModel.Encoder);
        return aggregate;
    }

    /// <inheritdoc />
    public byte[] SaveState()
    {
        static IEnumerable<KeyValuePair<string, Payload>> Entries(string prefix, SortedDictionary<string, ModelWeights> d) =>
            d.Select(e => KeyValuePair.Create(prefix + e.Key, (Payload)new TargetWeightsPayload(e.Value)));
        var parts = Entries("predicted/", _predicted).Concat(Entries("last/", _last)).Concat(Entries("known/", _known))
            .Append(KeyValuePair.Create(GlobalEncoderState, (Payload)new TargetWeightsPayload(_global)));
        if (_target is not null) parts = parts.Append(KeyValuePair.Create(GlobalTargetState, (Payload)new TargetWeightsPayload(_target)));
        using var buffer = new MemoryStream();
        using (var w = new BinaryWriter(buffer))
            PayloadFormat.Write(w, new MethodPayloads(parts));
        return buffer.ToArray();
    }

    /// <inheritdoc />
    public void LoadState(byte[] state, string source)
    {
        using var r = new BinaryReader(new MemoryStream(state, writable: false));
        var saved = PayloadFormat.Read(r, source);
        if (r.BaseStream.Position != state.Length) throw new InvalidDataException($"{source}: {state.Length - r.BaseStream.Position} bytes left over.");
        var global = saved.Get<TargetWeightsPayload>(GlobalEncoderState, source).Weights;
        ModelWeights? target = null;
        if (!_options.Ptnu) target = saved.Get<TargetWeightsPayload>(GlobalTargetState, source).Weights;
        _predicted.Clear();
        _last.Clear();
        _known.Clear();
        foreach (var (name, payload) in saved.Parts)
        {
            var weights = (payload as TargetWeightsPayload ?? throw new InvalidDataException($"{source}: entry '{name}' is {payload.Kind}, not target weights; is it another method's checkpoint?")).Weights;
            var slash = name.IndexOf('/', StringComparison.Ordinal);
            if (slash < 0) continue;
            var (kind, hospital) = (name[..slash], name[(slash + 1)..]);
            var into = kind switch { "predicted" => _predicted, "last" => _last, "known" => _known, _ => throw new InvalidDataException($"{source}: unknown entry '{name}'.") };
            into[hospital] = weights;
        }
        _global = global;
        _target = target;
    }
}

/// <summary>FCLOpt (ALGORITHMS.md §3) with its PTNU and DP switches, on the experiment's slices.</summary>
/// <param name="experiment">The experiment: slices, network, seeds.</param>
/// <param name="options">The switches.</param>
public sealed class FclOptMethod(FederatedExperiment experiment, FclOptOptions options) : IFederatedMethod
{
    /// <summary><see cref="FclOptOptions.Ptnu"/>.</summary>
    public static readonly SwitchKey Ptnu = new("fclopt.ptnu", false, "predict the target, m * own last prediction + (1 - m) * global encoder, instead of downloading it");

    /// <summary><see cref="FclOptOptions.RoundMomentum"/>.</summary>
    public static readonly NumberKey RoundMomentum = new("fclopt.round-momentum", 0.9, 0, 1, "m of PTNU's prediction");

    /// <summary><see cref="FclOptOptions.Dp"/>.</summary>
    public static readonly SwitchKey Dp = new("fclopt.dp", false,
        "(needs ptnu) upload the target only when ||prediction - last uploaded|| / ||last uploaded|| > delta");

    /// <summary><see cref="FclOptOptions.Delta"/>.</summary>
    public static readonly NumberKey Delta = new("fclopt.delta", 0.05, 0, 1e6, "DP's threshold");

    /// <summary>FCLOpt on volumes; DP needs PTNU.</summary>
    public static MethodRegistration Registration { get; } = new(FclOptServer.Name,
        "BYOL whose positives are two slices of one partition; the target network travels (ALGORITHMS.md §3; ASSUMED forms)",
        (experiment, settings) => new FclOptMethod(experiment, new FclOptOptions
        {
            Ptnu = settings.Get(Ptnu),
            RoundMomentum = settings.Get(RoundMomentum),
            Dp = settings.Get(Dp),
            Delta = settings.Get(Delta),
            Partitions = experiment.Settings.Partitions,
        }))
    {
        Keys = [Ptnu, RoundMomentum, Dp, Delta],
        Data = MethodData.Volumes,
        Check = settings =>
        {
            if (settings.Get(Dp) && !settings.Get(Ptnu)) throw new MethodSettingsException(Dp, "is on, but DP is built on PTNU: set fclopt.ptnu = on too");
        },
    };

    /// <inheritdoc />
    public string Name => FclOptServer.Name;

    /// <summary>Hospital <paramref name="hospitalId"/>'s FCLOpt client, seeded from the experiment.</summary>
    /// <param name="hospitalId">The hospital.</param>
    public ILocalLearner CreateClient(string hospitalId) =>
        new FclOptClient(new FclOptLearner(experiment.CreateNetwork, FedSimClrMethod.OptionsLike(experiment.Settings.MoCo, NtXentLoss.DefaultTemperature),
            experiment.Settings.MoCo.KeyMomentum, options.Partitions, new ViewAugmenter(experiment.Settings.Augmentation),
            SeededRandom.DeriveSeed(experiment.Settings.Seed, $"{hospitalId}/learner"), experiment.Device), options);

    /// <summary>The server, its first global encoder the initial global's.</summary>
    public IFederatedServer CreateServer() => new FclOptServer(options, InitialGlobal().Submodule(ByolModel.Encoder));

    /// <summary>FedBYOL's initial online network (encoder and predictor).</summary>
    public ModelWeights InitialGlobal() => new FedByolMethod(experiment).InitialGlobal();
}
