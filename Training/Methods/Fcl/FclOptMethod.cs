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
/// skips the upload while the target stays within <see cref="Delta"/> of the one last uploaded.
/// </summary>
public sealed record FclOptOptions
{
    public int Partitions { get; init; } = 4;

    /// <summary>PTNU: ξ̂_t = m·ξ̂_{t−1} + (1 − m)·θ_g,t on the client, with m = <see cref="RoundMomentum"/>.</summary>
    public bool Ptnu { get; init; }

    /// <summary>m of PTNU's round-level EMA (ASSUMED 0.9: the paper's value was unavailable).</summary>
    public double RoundMomentum { get; init; } = 0.9;

    /// <summary>DP: upload the target only when ‖ξ̂ − ξ_last‖₂ / ‖ξ_last‖₂ exceeds <see cref="Delta"/>.</summary>
    public bool Dp { get; init; }

    public double Delta { get; init; } = 0.05;

    public void Validate()
    {
        if (Partitions < 1) throw new ArgumentOutOfRangeException(nameof(Partitions), Partitions, "at least 1");
        if (!(RoundMomentum is >= 0 and <= 1)) throw new ArgumentOutOfRangeException(nameof(RoundMomentum), RoundMomentum, "in [0, 1]");
        if (!(Delta >= 0)) throw new ArgumentOutOfRangeException(nameof(Delta), Delta, "at least 0");
        if (Dp && !Ptnu) throw new ArgumentException("DP is built on PTNU: switch PTNU on to use it.");
    }
}

/// <summary>
/// An FCLOpt hospital (ALGORITHMS.md §3, ASSUMED forms). Before training it sets its target network:
/// the downloaded global target (FCLOpt), or with PTNU its prediction ξ̂_t = m·ξ̂_{t−1} + (1 − m)·θ_g,t from
/// its own last target and the global online encoder it already has (its first round takes the global
/// encoder). After training it uploads its target, except that with DP it uploads only when
/// ‖ξ̂ − ξ_last‖₂ / ‖ξ_last‖₂ > δ, ξ_last the target it last uploaded (always, if it never has).
/// </summary>
public sealed class FclOptClient(FclOptLearner learner, FclOptOptions options) : LearnerClient<FclOptLearner>(learner), IFederatedClient
{
    public const string TargetPayload = "target";
    private ModelWeights? _downloaded;

    /// <summary>DP's relative distance at the last upload decision (NaN when there was nothing to compare with).</summary>
    public double LastDistance { get; private set; } = double.NaN;

    public void ReceiveBroadcast(int round, MethodPayloads broadcast) =>
        _downloaded = broadcast.TryGet<TargetWeightsPayload>(TargetPayload, out var t) ? t.Weights : null;

    public override void LoadGlobal(ModelWeights global)
    {
        Learner.LoadGlobal(global);
        var encoder = global.Submodule(ByolModel.Encoder);
        if (!options.Ptnu)
        {
            Learner.AdoptTarget(_downloaded ?? throw new InvalidDataException("FCLOpt without PTNU needs the global target in the broadcast, none came."));
            return;
        }
        Learner.AdoptTarget(Learner.HasOwnTarget ? PredictTarget(Learner.TargetWeights(), encoder, options.RoundMomentum) : encoder);
    }

    /// <summary>PTNU's rule: ξ̂_t = m·ξ̂_{t−1} + (1 − m)·θ_g,t.</summary>
    public static ModelWeights PredictTarget(ModelWeights previous, ModelWeights globalEncoder, double m) =>
        FederatedAveraging.WeightedMean([new("previous target", previous, m), new("global encoder", globalEncoder, 1 - m)]);

    /// <summary>DP's relative distance ‖ξ̂ − ξ_last‖₂ / ‖ξ_last‖₂ over the learned tensors.</summary>
    public static double RelativeDistance(ModelWeights target, ModelWeights lastUploaded)
    {
        var last = lastUploaded.Learned();
        var norm = Math.Sqrt(last.Tensors.Sum(t => t.Values.Sum(v => (double)v * v)));
        return target.Learned().DistanceTo(last) / Math.Max(norm, double.Epsilon);
    }

    public MethodPayloads CollectUpload(int round, ImageShard shard)
    {
        var target = Learner.TargetWeights();
        if (options.Dp && Learner.LastUploadedTarget is { } last)
        {
            LastDistance = RelativeDistance(target, last);
            if (LastDistance <= options.Delta) return MethodPayloads.Empty;
        }
        else LastDistance = double.NaN;
        Learner.LastUploadedTarget = target;
        return MethodPayloads.Of((TargetPayload, new TargetWeightsPayload(target)));
    }
}

/// <summary>
/// FCLOpt's server (ALGORITHMS.md §3, ASSUMED forms): FedAvg of the online networks; the global target
/// ξ_g is the sample-weighted mean of the clients' targets, where a client that skipped its upload (DP)
/// counts with the target it last uploaded, the server's prediction of it. Without PTNU it broadcasts
/// ξ_g; with PTNU it sends nothing beside the model. ξ_g and every client's last target are its state.
/// </summary>
public sealed class FclOptServer(FclOptOptions options, ModelWeights initialTarget) : IFederatedServer
{
    public const string Name = "fclopt";
    private const string GlobalTargetState = "global-target";
    private ModelWeights _target = initialTarget;
    private readonly SortedDictionary<string, ModelWeights> _last = new(StringComparer.Ordinal);

    public string Method => Name;

    public ModelWeights GlobalTarget => _target;

    public MethodPayloads Broadcast(int round, string hospitalId) =>
        options.Ptnu ? MethodPayloads.Empty : MethodPayloads.Of((FclOptClient.TargetPayload, new TargetWeightsPayload(_target)));

    public string? Check(int round, ClientContribution upload)
    {
        if (upload.Extras.TryGet<TargetWeightsPayload>(FclOptClient.TargetPayload, out var t))
        {
            var names = _target.Tensors.Select(x => (x.Name, x.Values.Length));
            if (!t.Weights.Tensors.Select(x => (x.Name, x.Values.Length)).SequenceEqual(names)) return "its target network has other tensors than the global target";
            return t.Weights.MatchesDeclaredHash ? null : "its target weights do not match their declared hash";
        }
        if (!options.Dp) return $"no '{FclOptClient.TargetPayload}' weights (every client uploads its target without DP)";
        return _last.ContainsKey(upload.HospitalId) ? null : "no target uploaded yet, and DP has nothing to stand in for it";
    }

    public ServerAggregate Aggregate(int round, ModelWeights previousGlobal, IReadOnlyList<ClientContribution> accepted)
    {
        foreach (var u in accepted)
            if (u.Extras.TryGet<TargetWeightsPayload>(FclOptClient.TargetPayload, out var t)) _last[u.HospitalId] = t.Weights;
        _target = FederatedAveraging.WeightedMean(accepted.Select(u => new WeightedContribution(u.HospitalId, _last[u.HospitalId], u.Samples)).ToList());
        return FederatedAveragingServer.Weighted(accepted, accepted.Select(u => (double)u.Samples).ToList());
    }

    public byte[] SaveState()
    {
        using var buffer = new MemoryStream();
        using (var w = new BinaryWriter(buffer))
            PayloadFormat.Write(w, new MethodPayloads(_last.Select(l => KeyValuePair.Create("client/" + l.Key, (Payload)new TargetWeightsPayload(l.Value)))
                .Append(KeyValuePair.Create(GlobalTargetState, (Payload)new TargetWeightsPayload(_target)))));
        return buffer.ToArray();
    }

    public void LoadState(byte[] state, string source)
    {
        using var r = new BinaryReader(new MemoryStream(state, writable: false));
        var saved = PayloadFormat.Read(r, source);
        if (r.BaseStream.Position != state.Length) throw new InvalidDataException($"{source}: {state.Length - r.BaseStream.Position} bytes left over.");
        var target = saved.Get<TargetWeightsPayload>(GlobalTargetState, source).Weights;
        _last.Clear();
        foreach (var (name, payload) in saved.Parts.Where(p => p.Key.StartsWith("client/", StringComparison.Ordinal)))
            _last[name["client/".Length..]] = ((TargetWeightsPayload)payload).Weights;
        _target = target;
    }
}

/// <summary>FCLOpt (ALGORITHMS.md §3) with its PTNU and DP switches, on the experiment's slices.</summary>
public sealed class FclOptMethod(FederatedExperiment experiment, FclOptOptions options) : IFederatedMethod
{
    /// <summary><see cref="FclOptOptions.Ptnu"/>.</summary>
    public static readonly SwitchKey Ptnu = new("fclopt.ptnu", false, "predict the target, m * own last target + (1 - m) * global encoder, instead of downloading it");

    /// <summary><see cref="FclOptOptions.RoundMomentum"/>.</summary>
    public static readonly NumberKey RoundMomentum = new("fclopt.round-momentum", 0.9, 0, 1, "m of PTNU's prediction");

    /// <summary><see cref="FclOptOptions.Dp"/>.</summary>
    public static readonly SwitchKey Dp = new("fclopt.dp", false,
        "(needs ptnu) upload the target only when ||target - last uploaded|| / ||last uploaded|| > delta");

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

    public string Name => FclOptServer.Name;

    public ILocalLearner CreateClient(string hospitalId) =>
        new FclOptClient(new FclOptLearner(experiment.CreateNetwork, FedSimClrMethod.OptionsLike(experiment.Settings.MoCo, NtXentLoss.DefaultTemperature),
            experiment.Settings.MoCo.KeyMomentum, options.Partitions, new ViewAugmenter(experiment.Settings.Augmentation),
            SeededRandom.DeriveSeed(experiment.Settings.Seed, $"{hospitalId}/learner"), experiment.Device), options);

    public IFederatedServer CreateServer() => new FclOptServer(options, InitialGlobal().Submodule(ByolModel.Encoder));

    public ModelWeights InitialGlobal() => new FedByolMethod(experiment).InitialGlobal();
}
