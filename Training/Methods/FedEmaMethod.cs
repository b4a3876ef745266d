using FedActors.Training.Aggregation;
using FedActors.Training.Data;
using FedActors.Training.Experiments;
using FedActors.Training.Objectives;
using FedActors.Training.Weights;
using static TorchSharp.torch;

namespace FedActors.Training.Methods;

/// <summary>
/// FedEMA's options. <see cref="Lambda"/> null scales λ by itself: a client sets
/// λ = <see cref="Tau"/> / ‖θ_g − θ_i‖ the first time it measures a divergence, so that its
/// first μ is τ, and keeps that λ for the rest of the run (the FedEMA paper's auto-scaling;
/// ALGORITHMS.md §5 gives only the μ rule, so the scaling and τ's default are ASSUMED).
/// </summary>
/// <param name="Lambda">λ of μ = min(λ‖θ_g − θ_i‖, 1); null (config <c>auto</c>, the default) auto-scales it from <paramref name="Tau"/>.</param>
/// <param name="Tau">τ, the first μ of an auto-scaled client, in [0, 1]; unused with a fixed <paramref name="Lambda"/>.</param>
public sealed record FedEmaOptions(double? Lambda = null, double Tau = FedEmaOptions.DefaultTau)
{
    /// <summary>τ's default, 0.7 (ASSUMED, see above); config key <c>fedema.tau</c>.</summary>
    public const double DefaultTau = 0.7;
}

/// <summary>
/// FedEMA's client update (ALGORITHMS.md §5) around any learner: a client that has trained before
/// does not take the global model as it is but moves towards it, θ_i ← μ·θ_i + (1 − μ)·θ_g with
/// μ = min(λ‖θ_g − θ_i‖, 1), so the further the global has drifted from it, the more of its own
/// model it keeps. A client's first round starts from the global. The divergence is measured on
/// the learned tensors (<see cref="ModelWeights.Learned"/>) of the submodule
/// <paramref name="divergencePart"/> (the encoder) when given, of the whole model otherwise; the
/// blend applies to every tensor, BatchNorm statistics included. λ is part of the client's saved state.
/// </summary>
public sealed class FedEmaClient(ILocalLearner learner, FedEmaOptions options, string? divergencePart = null) : LearnerClient<ILocalLearner>(learner)
{
    /// <summary>The kind tag of its saved state (<see cref="LearnerStateFormat"/>), which wraps the inner learner's.</summary>
    public const string StateKind = "fedema";

    /// <summary>μ of the last <see cref="LoadGlobal"/> (0 when the global was taken as it is).</summary>
    public double LastMu { get; private set; }

    /// <summary>λ in use: the configured one, or the auto-scaled one once set (null before).</summary>
    public double? Lambda { get; private set; } = options.Lambda;

    /// <summary>
    /// Starts from <paramref name="global"/> as it is on the client's first round; afterwards loads
    /// μ·own + (1 − μ)·global, setting λ on the first measured divergence when auto-scaled. Sets <see cref="LastMu"/>.
    /// </summary>
    /// <param name="global">The round's global model.</param>
    public override void LoadGlobal(ModelWeights global)
    {
        if (Learner.DescribeState().OptimizerSteps == 0)
        {
            LastMu = 0;
            Learner.LoadGlobal(global);
            return;
        }
        var local = Learner.ExportWeights();
        var divergence = divergencePart is null
            ? global.Learned().DistanceTo(local.Learned())
            : global.Submodule(divergencePart).Learned().DistanceTo(local.Submodule(divergencePart).Learned());
        // A client whose first divergence is 0 has nothing to scale by yet; it takes the global, as μ = 0 would.
        Lambda ??= divergence > 0 ? options.Tau / divergence : null;
        LastMu = Lambda is { } lambda ? Math.Min(lambda * divergence, 1) : 0;
        Learner.LoadGlobal(FederatedAveraging.WeightedMean([new("local", local, LastMu), new("global", global, 1 - LastMu)]));
    }

    /// <summary>Writes λ (NaN while unset) and the inner learner's complete state, as <see cref="StateKind"/>.</summary>
    /// <param name="stream">Where to write it.</param>
    public override void SaveState(Stream stream) =>
        LearnerStateFormat.Write(stream, StateKind, w =>
        {
            w.Write(Lambda ?? double.NaN);
            using var inner = new MemoryStream();
            Learner.SaveState(inner);
            w.Write((int)inner.Length);
            w.Write(inner.GetBuffer(), 0, (int)inner.Length);
        });

    /// <summary>Restores what <see cref="SaveState"/> wrote: λ and the inner learner's state.</summary>
    /// <param name="stream">The saved state.</param>
    /// <param name="source">Where it came from, named in <see cref="InvalidDataException"/>s on corruption or a negative λ.</param>
    public override void LoadState(Stream stream, string source)
    {
        double lambda = double.NaN;
        byte[] inner = null!;
        LearnerStateFormat.Read(stream, source, StateKind, r =>
        {
            lambda = r.At("lambda").ReadDouble();
            if (!(double.IsNaN(lambda) || lambda >= 0)) throw r.Error($"lambda {lambda} is negative");
            inner = r.At("learner state").ReadBytes(r.Length("learner state", 1));
        });
        Learner.LoadState(new MemoryStream(inner), source);
        Lambda = double.IsNaN(lambda) ? null : lambda;
    }
}

/// <summary>
/// FedEMA (ALGORITHMS.md §5) as its paper pairs it: BYOL clients whose online encoder and
/// predictor move towards the global by <see cref="FedEmaClient"/>'s rule, the divergence measured
/// on the encoder; FedAvg on the server.
/// </summary>
public sealed class FedEmaMethod(FederatedExperiment experiment, FedEmaOptions options) : FedByolMethod(experiment)
{
    /// <summary>The config name, <c>fedema</c>.</summary>
    public new const string MethodName = "fedema";

    /// <summary>λ: <c>auto</c> (null: scaled so that a client's first μ is τ) or a fixed number.</summary>
    public static readonly NumberOrWordKey Lambda = new("fedema.lambda", "auto", 0, 1e9,
        "mu = min(lambda * ||global - own||, 1); auto sets lambda = tau / a client's first distance (ASSUMED, from the paper)");

    /// <summary>τ, the first μ of an auto-scaled client.</summary>
    public static readonly NumberKey Tau = new("fedema.tau", FedEmaOptions.DefaultTau, 0, 1, "the first mu of an auto-scaled client");

    /// <summary>FedEMA with BYOL clients, as its paper.</summary>
    public new static MethodRegistration Registration { get; } = new(MethodName,
        "BYOL clients that keep mu of their own model and take 1 - mu of the global, FedAvg (ALGORITHMS.md §5)",
        (experiment, settings) => new FedEmaMethod(experiment, new FedEmaOptions(settings.Get(Lambda), settings.Get(Tau)))) { Keys = [Lambda, Tau] };

    /// <inheritdoc/>
    public override string Name => MethodName;

    /// <summary>A <see cref="FedEmaClient"/> around a BYOL learner for <paramref name="hospitalId"/>, measuring divergence on the encoder.</summary>
    /// <param name="hospitalId">The hospital whose learner it is.</param>
    public override ILocalLearner CreateClient(string hospitalId) => new FedEmaClient(CreateByol(hospitalId), options, ByolModel.Encoder);
}
