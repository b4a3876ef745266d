using System.Collections.Concurrent;
using FedActors.Training.Experiments;
using FedActors.Training.Methods.Fcl;
using FedActors.Training.Methods.FedMoCo;

namespace FedActors.Training.Methods;

/// <summary>What data a method can train on.</summary>
public enum MethodData
{
    /// <summary>2D images or slices of volumes: whatever the data source gives.</summary>
    ImagesOrVolumes,

    /// <summary>Slices of volumes tagged with their partition: a volumetric source (<see cref="ExperimentSettings.IsVolumetric"/>).</summary>
    Volumes,

    /// <summary>2D images with class labels (a classification method): not a volumetric source.</summary>
    LabelledImages,
}

/// <summary>How a method's global model is judged; the run performs those its data source and config ask for.</summary>
[Flags]
public enum MethodEvaluations
{
    /// <summary>No evaluation: the method's global model is not a network the experiment can judge.</summary>
    None = 0,

    /// <summary>A linear probe of its encoder, every evaluated round and at the label fractions asked for.</summary>
    LinearProbe = 1,

    /// <summary>End-to-end fine-tuning of its encoder at the label fractions asked for.</summary>
    FineTune = 2,

    /// <summary>Volumetric sources: U-Net segmentation fine-tuning initialised by its encoder.</summary>
    Segmentation = 4,

    /// <summary>Its global classifier, every round's, the round chosen on validation (<see cref="FederatedExperiment.EvaluateClassifier"/>).</summary>
    GlobalClassifier = 8,

    /// <summary>What an encoder is judged by: linear probe, fine-tuning, segmentation.</summary>
    Encoder = LinearProbe | FineTune | Segmentation,
}

/// <summary>
/// A federated method as the experiment config names it (<c>method = ...</c>): its name, its keys (type, default,
/// range), the data it needs, how it is judged, and how it is built from the experiment and its settings. Each
/// method declares one, in its own file; a <see cref="MethodRegistry"/> holds them.
/// </summary>
/// <param name="Name">One word; what <c>method = </c> names.</param>
/// <param name="Summary">What the method is, one line, for <c>fedactors methods</c>.</param>
/// <param name="Create">Builds the method on the experiment's hospitals with the run's settings.</param>
public sealed record MethodRegistration(string Name, string Summary, Func<FederatedExperiment, MethodSettings, IFederatedMethod> Create)
{
    /// <summary>The config keys it reads (a key may be shared with other methods: the same object).</summary>
    public IReadOnlyList<MethodKey> Keys { get; init; } = [];

    /// <summary>The data it can train on.</summary>
    public MethodData Data { get; init; } = MethodData.ImagesOrVolumes;

    /// <summary>The <c>model.encoder</c> its model is built on (null: whichever the experiment sets).</summary>
    public string? Encoder { get; init; }

    /// <summary>How its global model is judged.</summary>
    public MethodEvaluations Evaluations { get; init; } = MethodEvaluations.Encoder;

    /// <summary>
    /// Checks the settings of a run that chose this method, beyond each key's own range (keys that depend on each
    /// other, files that must exist); throws <see cref="MethodSettingsException"/> naming the key to fix.
    /// </summary>
    public Action<MethodSettings>? Check { get; init; }
}

/// <summary>A registered method with the settings of one run: what an experiment's config resolves <c>method</c> to.</summary>
/// <param name="Registration">The method as registered.</param>
/// <param name="Settings">The values of its keys for this run.</param>
public sealed record ConfiguredMethod(MethodRegistration Registration, MethodSettings Settings)
{
    /// <summary>The method's name.</summary>
    public string Name => Registration.Name;

    /// <summary>The method on <paramref name="experiment"/>'s hospitals.</summary>
    public IFederatedMethod Create(FederatedExperiment experiment) => Registration.Create(experiment, Settings);
}

/// <summary>
/// The methods an experiment may name, by name. <see cref="BuiltIn"/> makes one holding the project's methods; a
/// user's program or a spec adds its own with <see cref="Register"/> (no actor or host code changes) and hands the
/// registry to the config reader. <see cref="Default"/> is the one the <c>fedactors</c> command reads configs with.
/// </summary>
public sealed class MethodRegistry
{
    private readonly ConcurrentDictionary<string, MethodRegistration> _methods = new(StringComparer.Ordinal);
    private readonly Lock _gate = new();

    /// <summary>A registry holding <paramref name="methods"/>.</summary>
    public MethodRegistry(IEnumerable<MethodRegistration> methods)
    {
        foreach (var method in methods) Register(method);
    }

    /// <summary>The project's methods, each from its own file.</summary>
    public static IReadOnlyList<MethodRegistration> BuiltInMethods =>
    [
        FedMoCoPlainMethod.Registration, FedMoCoMethod.Registration, SupervisedFedAvgMethod.Registration, FedEmaMethod.Registration,
        FedProxMethod.Registration, FedByolMethod.Registration, FedUMethod.Registration, FedSimClrMethod.Registration,
        FclMethod.Registration, FclOptMethod.Registration, LocalClMethod.Registration, NoPretrainingMethod.Registration,
        .. ImbalancedClassificationMethod.Registrations,
    ];

    /// <summary>A new registry holding the project's methods.</summary>
    public static MethodRegistry BuiltIn() => new(BuiltInMethods);

    /// <summary>The registry the <c>fedactors</c> command and <c>ExperimentConfig.Load</c> use unless given another: the project's methods and any registered since.</summary>
    public static MethodRegistry Default { get; } = BuiltIn();

    /// <summary>
    /// Makes <paramref name="method"/> one the config may name. Its name must be one word not taken by another
    /// method, and each of its keys either new or the very object another method declared under that name.
    /// Registering the same registration again does nothing.
    /// </summary>
    public MethodRegistry Register(MethodRegistration method)
    {
        ArgumentNullException.ThrowIfNull(method);
        if (string.IsNullOrWhiteSpace(method.Name) || method.Name.Any(char.IsWhiteSpace))
            throw new ArgumentException($"Method name '{method.Name}' must be one word.", nameof(method));
        lock (_gate)
        {
            if (_methods.TryGetValue(method.Name, out var known))
                return known == method ? this : throw new ArgumentException($"A method named '{method.Name}' is already registered.", nameof(method));
            foreach (var key in method.Keys)
            {
                var other = Keys.FirstOrDefault(k => k.Name == key.Name);
                if (other is not null && !ReferenceEquals(other, key))
                    throw new ArgumentException($"Method '{method.Name}' declares key '{key.Name}', which another method declares differently; share that method's key object.", nameof(method));
            }
            _methods[method.Name] = method;
        }
        return this;
    }

    /// <summary>Every registered method, by name.</summary>
    public IReadOnlyList<MethodRegistration> Methods => _methods.Values.OrderBy(m => m.Name, StringComparer.Ordinal).ToList();

    /// <summary>The registered methods' names, in order.</summary>
    public IReadOnlyList<string> Names => Methods.Select(m => m.Name).ToList();

    /// <summary>Every key any registered method declares, once each, by name.</summary>
    public IReadOnlyList<MethodKey> Keys =>
        Methods.SelectMany(m => m.Keys).Distinct().OrderBy(k => k.Name, StringComparer.Ordinal).ToList();

    /// <summary>The method named <paramref name="name"/>, or null.</summary>
    public MethodRegistration? Find(string name) => _methods.GetValueOrDefault(name);
}
