using System.Reflection;
using Akka.Configuration;
using FedActors.Actors.Coordination;
using FedActors.Actors.Devices;
using FedActors.Training.Augmentations;
using FedActors.Training.Evaluation;
using FedActors.Training.Experiments;
using FedActors.Training.Objectives;

namespace FedActors.Host.Configuration;

/// <summary>Process-level options of a run that do not change its numbers.</summary>
public sealed record HostSettings(int TrainingThreads, int TorchThreads, string RunsDirectory, ClusterSettings Cluster, DeviceSlotsSettings Devices);

/// <summary>Cluster-mode options from the config; a node's address, roles and seeds come from its command line.</summary>
public sealed record ClusterSettings(int MinWorkers, string SplitBrain, TimeSpan StableAfter, long MaximumFrameBytes);

/// <summary>An experiment configuration, layered and parsed into typed settings.</summary>
public sealed record ExperimentConfig(
    string ResolvedHocon, ExperimentSettings Experiment, CoordinatorSettings Coordinator, HostSettings Host)
{
    public const string EmbeddedDefaultName = "FedActors.single-node.conf";
    private const string Root = "fedactors";

    public static string EmbeddedDefaultText()
    {
        using var stream = Assembly.GetExecutingAssembly().GetManifestResourceStream(EmbeddedDefaultName)
            ?? throw new InvalidOperationException($"Embedded default config '{EmbeddedDefaultName}' is missing from the build.");
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd();
    }

    /// <summary>
    /// Embedded defaults, then <paramref name="path"/> (if any), then each <c>key=value</c>
    /// override. Keys that the defaults do not define are errors, as are wrong types and
    /// out-of-range values; every error names the key and its source.
    /// </summary>
    public static ExperimentConfig Load(string? path, IReadOnlyList<string> overrides)
    {
        var defaults = Parse(EmbeddedDefaultText(), "embedded default (cluster-config/single-node.conf)");
        var knownKeys = LeafKeys(defaults).ToHashSet();
        var sources = new Dictionary<string, string>();
        var layers = new List<Config>();

        if (path is not null)
        {
            if (!File.Exists(path)) throw new ConfigError($"Config file '{path}' does not exist.");
            var fileConfig = Parse(File.ReadAllText(path), path);
            CheckKnown(fileConfig, knownKeys, path, sources);
            layers.Add(fileConfig);
        }
        foreach (var o in overrides)
        {
            var eq = o.IndexOf('=');
            if (eq <= 0) throw new ConfigError($"--set expects key=value, found '{o}'.");
            var key = o[..eq].Trim();
            if (!key.StartsWith(Root + ".", StringComparison.Ordinal)) key = $"{Root}.{key}";
            var value = o[(eq + 1)..].Trim();
            var layer = Parse($"{key} = {value}", $"--set {o}");
            CheckKnown(layer, knownKeys, $"--set {o}", sources);
            layers.Insert(0, layer);
        }
        // layers holds overrides (last one first), then the file: earlier entries win.
        var config = defaults;
        for (var i = layers.Count - 1; i >= 0; i--) config = layers[i].WithFallback(config);

        var reader = new ConfigReader(config, sources);
        var experiment = ReadExperiment(reader);
        var coordinator = new CoordinatorSettings
        {
            Rounds = reader.Int("fedactors.rounds.count", 1, 100_000),
            SampleFraction = reader.Double("fedactors.rounds.sample-fraction", 1e-9, 1),
            MinParticipants = reader.Int("fedactors.rounds.min-participants", 1, 1_000_000),
            RoundTimeout = reader.Duration("fedactors.rounds.timeout"),
            EvaluateEvery = reader.Int("fedactors.rounds.evaluate-every", 0, 100_000),
            ResendInterval = reader.Duration("fedactors.rounds.resend-interval"),
            Seed = experiment.Seed,
        };
        if (coordinator.MinParticipants > experiment.Hospitals)
            throw reader.Error("fedactors.rounds.min-participants", $"is {coordinator.MinParticipants} but there are only {experiment.Hospitals} hospitals");
        var host = new HostSettings(
            reader.Int("fedactors.training-threads", 1, 1024),
            reader.Int("fedactors.torch-threads", 0, 1024),
            reader.String("fedactors.runs-dir"),
            new ClusterSettings(
                reader.Int("fedactors.cluster.min-workers", 1, 100_000),
                reader.OneOf("fedactors.cluster.split-brain", "keep-majority", "keep-oldest"),
                reader.Duration("fedactors.cluster.stable-after"),
                reader.Long("fedactors.cluster.maximum-frame-size", 32_000, 1_000_000)),
            ReadDevices(reader));
        return new ExperimentConfig(Render(config), experiment, coordinator, host);
    }

    private static DeviceSlotsSettings ReadDevices(ConfigReader r)
    {
        var devices = new DeviceSlotsSettings
        {
            Devices = r.StringList("fedactors.devices.list"),
            SlotsPerDevice = r.Int("fedactors.devices.slots-per-device", 1, 1024),
            MaxLeaseHold = r.Duration("fedactors.devices.max-lease-hold"),
        };
        // Names are checked here, device presence when the node starts (this process may not be that node).
        try { if (!devices.IsAuto) devices.ResolveDevices(cudaDevices: int.MaxValue); }
        catch (ArgumentException e) { throw r.Error("fedactors.devices.list", e.Message.TrimEnd('.')); }
        return devices;
    }

    private static ExperimentSettings ReadExperiment(ConfigReader r)
    {
        var widths = r.IntList("fedactors.model.encoder-widths");
        if (widths.Count != 4 || widths.Any(w => w <= 0 || w % 8 != 0))
            throw r.Error("fedactors.model.encoder-widths", $"needs 4 positive multiples of 8, found [{string.Join(", ", widths)}]");
        var trainPerHospital = r.Int("fedactors.data.train-images-per-hospital", 2, 10_000_000);
        var moco = new MoCoV2Options
        {
            QueueSize = r.Int("fedactors.moco.queue-size", 1, 10_000_000),
            Temperature = r.Double("fedactors.moco.temperature", 1e-6, 100),
            KeyMomentum = r.Double("fedactors.moco.key-momentum", 0, 1),
            LearningRate = r.Double("fedactors.moco.learning-rate", 0, 100),
            SgdMomentum = r.Double("fedactors.moco.sgd-momentum", 0, 1),
            WeightDecay = r.Double("fedactors.moco.weight-decay", 0, 1),
            BatchSize = r.Int("fedactors.moco.batch-size", 2, 1_000_000),
            LocalEpochs = r.Int("fedactors.moco.local-epochs", 1, 10_000),
        };
        return new ExperimentSettings
        {
            Seed = (ulong)r.Long("fedactors.seed", 0, long.MaxValue),
            Device = r.String("fedactors.device"),
            Hospitals = r.Int("fedactors.data.hospitals", 1, 1_000_000),
            TrainImagesPerHospital = trainPerHospital,
            TestImagesPerHospital = r.Int("fedactors.data.test-images-per-hospital", 1, 10_000_000),
            ImageSize = r.Int("fedactors.data.image-size", 16, 1024),
            Classes = r.Int("fedactors.data.classes", 2, 4),
            SiteShift = r.Double("fedactors.data.site-shift", 0, 1),
            EncoderWidths = widths.ToArray(),
            ProjectionDim = r.Int("fedactors.model.projection-dim", 1, 65_536),
            MoCo = moco,
            Augmentation = new AugmentationOptions
            {
                MinCropScale = r.Double("fedactors.augmentation.min-crop-scale", 0.01, 1),
                MaxAspectRatio = r.Double("fedactors.augmentation.max-aspect-ratio", 1, 10),
                MaxRotationDegrees = r.Double("fedactors.augmentation.max-rotation-degrees", 0, 180),
                FlipProbability = r.Double("fedactors.augmentation.flip-probability", 0, 1),
                IntensityProbability = r.Double("fedactors.augmentation.intensity-probability", 0, 1),
                MaxContrastChange = r.Double("fedactors.augmentation.max-contrast-change", 0, 0.99),
                MaxBrightnessChange = r.Double("fedactors.augmentation.max-brightness-change", 0, 1),
                GammaProbability = r.Double("fedactors.augmentation.gamma-probability", 0, 1),
                MaxLogGamma = r.Double("fedactors.augmentation.max-log-gamma", 0, 3),
                BlurProbability = r.Double("fedactors.augmentation.blur-probability", 0, 1),
                MaxBlurSigma = r.Double("fedactors.augmentation.max-blur-sigma", 0.1, 10),
                NoiseProbability = r.Double("fedactors.augmentation.noise-probability", 0, 1),
                MaxNoiseStd = r.Double("fedactors.augmentation.max-noise-std", 0, 1),
            },
            ProbeLabelFraction = r.Double("fedactors.probe.label-fraction", 1e-9, 1),
            Probe = new LinearProbeOptions
            {
                Steps = r.Int("fedactors.probe.steps", 1, 1_000_000),
                LearningRate = r.Double("fedactors.probe.learning-rate", 1e-9, 100),
            },
        };
    }

    private static Config Parse(string text, string source)
    {
        try { return ConfigurationFactory.ParseString(text); }
        catch (Exception e) { throw new ConfigError($"{source}: not valid HOCON: {e.Message}"); }
    }

    private static IEnumerable<string> LeafKeys(Config config) => LeafKeys(config.Root, "");

    private static IEnumerable<string> LeafKeys(Akka.Configuration.Hocon.HoconValue value, string prefix)
    {
        if (!value.IsObject())
        {
            yield return prefix;
            yield break;
        }
        foreach (var (key, child) in value.GetObject().Items)
        foreach (var leaf in LeafKeys(child, prefix.Length == 0 ? key : $"{prefix}.{key}"))
            yield return leaf;
    }

    private static void CheckKnown(Config layer, HashSet<string> known, string source, Dictionary<string, string> sources)
    {
        foreach (var key in LeafKeys(layer))
        {
            if (!known.Contains(key))
            {
                var near = known.Where(k => k.Split('.')[^1] == key.Split('.')[^1]).ToList();
                var hint = near.Count > 0 ? $" (did you mean {string.Join(" or ", near)}?)" : "";
                throw new ConfigError($"{source}: unknown key '{key}'{hint}.");
            }
            sources[key] = source;
        }
    }

    private static string Render(Config config) =>
        $"# Resolved FedActors configuration (defaults + file + --set overrides)\n{Root} {{\n{config.GetConfig(Root).Root}\n}}\n";
}
