using System.Reflection;
using Akka.Configuration;
using FedActors.Actors.Coordination;
using FedActors.Actors.Devices;
using FedActors.Actors.Faults;
using FedActors.Actors.Rounds;
using FedActors.Actors.Simulation;
using FedActors.Training.Augmentations;
using FedActors.Training.Evaluation;
using FedActors.Training.Models;
using FedActors.Training.Experiments;
using FedActors.Training.Methods;
using FedActors.Training.Objectives;

namespace FedActors.Host.Configuration;

/// <summary>Process-level options of a run that do not change its numbers.</summary>
/// <param name="TrainingThreads">
/// Threads that train hospitals at once in this process (<c>fedactors.training-threads</c>, 1 to 1024), or
/// <see cref="AutoTrainingThreads"/> (<c>auto</c>, the default): one per device slot, see <see cref="EffectiveTrainingThreads"/>.
/// </param>
/// <param name="TorchThreads">libtorch's intra-op threads (<c>fedactors.torch-threads</c>; 0 leaves libtorch's default).</param>
/// <param name="RunsDirectory">Where run directories are created (<c>fedactors.runs-dir</c>).</param>
/// <param name="Cluster">Cluster-mode options (<c>fedactors.cluster</c>).</param>
/// <param name="Devices">This node's devices and slots per device (<c>fedactors.devices</c>).</param>
public sealed record HostSettings(int TrainingThreads, int TorchThreads, string RunsDirectory, ClusterSettings Cluster, DeviceSlotsSettings Devices)
{
    /// <summary>
    /// Device memory every hospital declares it needs while training, in bytes (<c>fedactors.devices.hospital-memory-mb</c>);
    /// 0: each hospital's is estimated (<see cref="FedActors.Training.TrainingMemory"/>). Used only with a memory budget.
    /// </summary>
    public long HospitalMemoryBytes { get; init; }

    /// <summary>Only working hospitals stay in memory (in one process and on cluster workers): see <see cref="FedActors.Actors.Hosting.FederatedRun.PassivateHospitals"/>.</summary>
    public bool PassivateHospitals { get; init; }

    /// <summary>
    /// <c>passivate-hospitals = auto</c> turns passivation on above this many registered hospitals: below it their
    /// learners fit in memory and restoring one each round would only cost time (about 15 ms per small CNN here).
    /// </summary>
    public const int PassivateAboveHospitals = 100;

    /// <summary><see cref="TrainingThreads"/> when <c>fedactors.training-threads = auto</c>: derived from the device leases.</summary>
    public const int AutoTrainingThreads = 0;

    /// <summary>
    /// The training threads this process runs: <see cref="TrainingThreads"/> where the config sets a number, else
    /// (<c>auto</c>) <see cref="DeriveTrainingThreads"/> of this node's devices, counting its CUDA devices when
    /// <c>devices.list = auto</c>. Resolved on the node that trains, since each node of a cluster counts its own GPUs.
    /// </summary>
    public int EffectiveTrainingThreads =>
        TrainingThreads != AutoTrainingThreads ? TrainingThreads : DeriveTrainingThreads(null, Devices, Devices.IsAuto ? TorchSharp.torch.cuda.device_count() : 0);

    /// <summary>
    /// Training threads for a node: <paramref name="configured"/> if set, else one per device slot (devices × slots per
    /// device), so every granted lease has a thread to train on. With <c>devices.list = auto</c> the devices are
    /// <paramref name="cudaDevices"/> CUDA devices, or the CPU if there are none.
    /// </summary>
    /// <param name="configured">The number <c>fedactors.training-threads</c> sets, or null for <c>auto</c>.</param>
    /// <param name="devices">The node's devices and slots per device (<c>fedactors.devices</c>).</param>
    /// <param name="cudaDevices">How many CUDA devices the node has (only read for <c>devices.list = auto</c>).</param>
    /// <returns>At least 1, at most 1024 (the key's range).</returns>
    public static int DeriveTrainingThreads(int? configured, DeviceSlotsSettings devices, int cudaDevices) =>
        configured ?? Math.Clamp(devices.ResolveDevices(cudaDevices).Count * devices.SlotsPerDevice, 1, 1024);

    /// <summary>Which global models are kept in the run directory's <c>checkpoints/</c> (<c>fedactors.checkpoints.every</c>, <c>fedactors.checkpoints.keep-last</c>); by default every round's, all kept.</summary>
    public CheckpointSettings Checkpoints { get; init; } = new(1, 0);

    /// <summary>Where snapshots and the coordinator's round state go (<c>fedactors.persistence</c>); by default the file store.</summary>
    public PersistenceSettings Persistence { get; init; } = new(PersistenceSettings.FileStore, null);
}

/// <summary>Which global models the run directory keeps in <c>checkpoints/</c>.</summary>
/// <param name="Every">After every N-th round (0: only after the last).</param>
/// <param name="KeepLast">How many to keep, newest first (0: all).</param>
public sealed record CheckpointSettings(int Every, int KeepLast)
{
    /// <summary>Whether the global model after <paramref name="round"/> (1-based) is checkpointed: the last round's always is, others every <see cref="Every"/> rounds.</summary>
    /// <param name="round">The round just completed, 1-based.</param>
    /// <param name="totalRounds">The run's number of rounds.</param>
    public bool Wants(int round, int totalRounds) => round == totalRounds || (Every > 0 && round % Every == 0);
}

/// <summary>Where hospital snapshots and the coordinator's round state go (<c>fedactors.persistence</c>).</summary>
/// <param name="Store"><see cref="FileStore"/> (the default) or <see cref="PostgreSqlStore"/> (<c>fedactors.persistence.store</c>).</param>
/// <param name="ConnectionString">
/// PostgreSQL's Npgsql connection string from <c>fedactors.persistence.connection-string</c> (null: not set); the
/// environment variable <see cref="ConnectionVariable"/> takes precedence (<see cref="SnapshotStore"/>).
/// </param>
public sealed record PersistenceSettings(string Store, string? ConnectionString)
{
    /// <summary><c>persistence.store = file</c>: Akka.Persistence's file store in the run's snapshot directory.</summary>
    public const string FileStore = "file";

    /// <summary><c>persistence.store = postgresql</c>: Akka.Persistence.Sql's snapshot store in a PostgreSQL database.</summary>
    public const string PostgreSqlStore = "postgresql";

    /// <summary>The config key of the store.</summary>
    public const string StoreKey = "fedactors.persistence.store";

    /// <summary>The config key of the connection string.</summary>
    public const string ConnectionKey = "fedactors.persistence.connection-string";

    /// <summary>The environment variable whose connection string wins over <see cref="ConnectionKey"/> (so a password need not sit in a file).</summary>
    public const string ConnectionVariable = "FEDACTORS_PERSISTENCE_CONNECTION";

    /// <summary>How long setup waits to reach the database before it stops with an error naming the key and host.</summary>
    public static readonly TimeSpan ReachTimeout = TimeSpan.FromSeconds(10);

    /// <summary>
    /// The snapshot store of run <paramref name="runId"/>: the file store, or PostgreSQL with the connection string from
    /// <see cref="ConnectionVariable"/> when <paramref name="environment"/> has it, else from <see cref="ConnectionKey"/>.
    /// </summary>
    /// <param name="runId">The run whose state this is (its table: <see cref="FedActors.Actors.Hospitals.SnapshotStoreSettings.TableFor"/>).</param>
    /// <param name="environment">Reads an environment variable (<see cref="Environment.GetEnvironmentVariable(string)"/>).</param>
    /// <exception cref="ConfigError">postgresql without a connection string, or one that does not parse; the message names the source, never the password.</exception>
    public FedActors.Actors.Hospitals.SnapshotStoreSettings SnapshotStore(string runId, Func<string, string?> environment)
    {
        if (Store != PostgreSqlStore) return FedActors.Actors.Hospitals.SnapshotStoreSettings.File;
        var (connection, source) = environment(ConnectionVariable) is { Length: > 0 } fromEnvironment
            ? (fromEnvironment, ConnectionVariable)
            : (ConnectionString, ConnectionKey);
        if (connection is null)
            throw new ConfigError($"{StoreKey} is {PostgreSqlStore}, but neither {ConnectionKey} nor the environment variable {ConnectionVariable} gives a connection string");
        try { return FedActors.Actors.Hospitals.SnapshotStoreSettings.PostgreSql(connection, runId); }
        catch (ArgumentException e) { throw new ConfigError($"{source}: {e.Message.Split(" (Parameter")[0]}"); }
    }

    /// <summary>
    /// <paramref name="store"/> reached within <see cref="ReachTimeout"/>, or a <see cref="ConfigError"/> naming the key (or
    /// variable) and the host now, before the run's setup; nothing to check for the file store.
    /// </summary>
    /// <param name="store">The store <see cref="SnapshotStore"/> gave.</param>
    /// <param name="environment">Reads an environment variable, to name where the connection string came from.</param>
    /// <exception cref="ConfigError">The database cannot be reached or refuses the login.</exception>
    public static void RequireReachable(FedActors.Actors.Hospitals.SnapshotStoreSettings store, Func<string, string?> environment)
    {
        try { store.CheckReachable(ReachTimeout); }
        catch (InvalidOperationException e)
        {
            var source = environment(ConnectionVariable) is { Length: > 0 } ? ConnectionVariable : ConnectionKey;
            throw new ConfigError($"{source}: {e.Message}");
        }
    }
}

/// <summary>Cluster-mode options from the config; a node's address, roles and seeds come from its command line.</summary>
/// <param name="MinWorkers">Worker nodes a coordinator node waits for before starting the run (<c>fedactors.cluster.min-workers</c>).</param>
/// <param name="SplitBrain">The Split Brain Resolver strategy: <c>keep-majority</c> or <c>keep-oldest</c> (<c>fedactors.cluster.split-brain</c>).</param>
/// <param name="StableAfter">How long a partition must be stable before the resolver acts (<c>fedactors.cluster.stable-after</c>).</param>
/// <param name="MaximumFrameBytes">Remoting's maximum frame, 32 kB to 1 MB (<c>fedactors.cluster.maximum-frame-size</c>).</param>
public sealed record ClusterSettings(int MinWorkers, string SplitBrain, TimeSpan StableAfter, long MaximumFrameBytes)
{
    /// <summary>
    /// How long a coordinator node waits for <see cref="MinWorkers"/> before it settles for <see cref="MinWorkersFloor"/>
    /// or gives up (<c>fedactors.cluster.min-workers-timeout</c>, default 5 minutes).
    /// </summary>
    public TimeSpan MinWorkersTimeout { get; init; } = TimeSpan.FromMinutes(5);

    /// <summary>
    /// The fewest workers a coordinator node starts the run with once <see cref="MinWorkersTimeout"/> has passed
    /// (<c>fedactors.cluster.min-workers-floor</c>, 1 to <see cref="MinWorkers"/>; 0, the default, means <see cref="MinWorkers"/>:
    /// never start short).
    /// </summary>
    public int MinWorkersFloor { get; init; }

    /// <summary>
    /// How long a worker node waits for a coordinator node to be Up in its cluster before it gives up
    /// (<c>fedactors.cluster.coordinator-timeout</c>, default 5 minutes): a wrong <c>--seed</c> or a coordinator that never started.
    /// </summary>
    public TimeSpan CoordinatorTimeout { get; init; } = TimeSpan.FromMinutes(5);

    /// <summary>
    /// The weights transfer's bulk TCP port (<c>fedactors.cluster.transfer-port</c>, 0 to 65535; 0, the default, picks a free
    /// one); a node's <c>--transfer-port</c> overrides it.
    /// </summary>
    public int TransferPort { get; init; }

    /// <summary>
    /// The file holding the cluster secret (<c>fedactors.cluster.secret-file</c>, relative to the config file that sets it;
    /// null, the default: none). The environment variable <c>FEDACTORS_CLUSTER_SECRET</c> takes precedence. Only its path is
    /// in the config (and so in <c>resolved.conf</c>), never the secret.
    /// </summary>
    public string? SecretFile { get; init; }

    /// <summary>
    /// This node's TLS certificate, a PKCS#12 file with its key (<c>fedactors.cluster.tls-certificate</c>, relative to the config
    /// file that sets it; null, the default: remoting over plain TCP). Set together with <see cref="TlsAuthority"/>; its password,
    /// if any, comes from the environment variable <c>FEDACTORS_TLS_PASSWORD</c>, never from the config.
    /// </summary>
    public string? TlsCertificate { get; init; }

    /// <summary>
    /// The cluster CA's certificate (<c>fedactors.cluster.tls-authority</c>, relative to the config file that sets it): a peer is
    /// accepted only with a certificate it signed. Null, the default, with <see cref="TlsCertificate"/>.
    /// </summary>
    public string? TlsAuthority { get; init; }

    /// <summary>How long a joining node has to prove it belongs to the run before it is downed (<c>fedactors.cluster.admission-timeout</c>, default 20 s).</summary>
    public TimeSpan AdmissionTimeout { get; init; } = TimeSpan.FromSeconds(20);

    /// <summary>The most connections a node's bulk channel serves at once (<c>fedactors.cluster.transfer-max-connections</c>, 1 to 4096, default 64).</summary>
    public int TransferMaxConnections { get; init; } = 64;

    /// <summary>How long the bulk channel waits on any read or write of a connection (<c>fedactors.cluster.transfer-read-timeout</c>, default 10 s).</summary>
    public TimeSpan TransferReadTimeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>How a node finds the cluster: <c>--seed</c> addresses (the default) or discovery and Akka.Management's bootstrap (<c>fedactors.cluster.discovery</c> and the keys beside it).</summary>
    public ClusterFormationSettings Formation { get; init; } = new();

    /// <summary>The wait for workers these settings ask for: <see cref="MinWorkers"/>, its floor and its timeout.</summary>
    public FedActors.Host.Runs.WorkerQuorum Quorum => new(MinWorkers, MinWorkersFloor == 0 ? MinWorkers : MinWorkersFloor, MinWorkersTimeout);
}

/// <summary>An experiment configuration, layered and parsed into typed settings.</summary>
/// <param name="ResolvedHocon">The whole configuration after layering, as written to the run's <c>resolved.conf</c>.</param>
/// <param name="Experiment">The experiment itself: data, hospitals, network, local training settings, seed.</param>
/// <param name="Coordinator">How rounds run: count, selection, deadlines, faults, heterogeneity, availability.</param>
/// <param name="Host">Process-level options that do not change the run's numbers.</param>
public sealed record ExperimentConfig(
    string ResolvedHocon, ExperimentSettings Experiment, CoordinatorSettings Coordinator, HostSettings Host)
{
    /// <summary>The manifest resource name of the embedded default configuration (<c>cluster-config/single-node.conf</c>), the layer every config starts from.</summary>
    public const string EmbeddedDefaultName = "FedActors.single-node.conf";
    private const string Root = "fedactors";

    /// <summary>The text of the embedded default configuration (<c>cluster-config/single-node.conf</c>), every known key at its default.</summary>
    /// <exception cref="InvalidOperationException">The resource is missing from the build.</exception>
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
    /// <param name="path">An experiment file (HOCON) layered over the defaults, or null for the defaults alone.</param>
    /// <param name="overrides"><c>key=value</c> overrides applied last, in order; the leading <c>fedactors.</c> may be omitted.</param>
    /// <param name="methods">
    /// The methods <c>method</c> may name (default: <see cref="MethodRegistry.Default"/>). Their declared keys are
    /// known keys, at their declared defaults unless the embedded default file sets them, and are checked against
    /// their declared types and ranges.
    /// </param>
    public static ExperimentConfig Load(string? path, IReadOnlyList<string> overrides, MethodRegistry? methods = null)
    {
        methods ??= MethodRegistry.Default;
        var defaults = Parse(WithMethodDefaults(EmbeddedDefaultText(), methods), "embedded default (cluster-config/single-node.conf)");
        var knownKeys = LeafKeys(defaults).ToHashSet();
        var sources = new KeySources();
        var layers = new List<Config>();

        if (path is not null)
        {
            if (!File.Exists(path)) throw new ConfigError($"Config file '{path}' does not exist.");
            var text = File.ReadAllText(path);
            var fileConfig = ParseFile(text, path);
            sources.RecordLines(path, KeyLines.Scan(text));
            CheckKnown(fileConfig, knownKeys, path, FileLayer, sources);
            layers.Add(fileConfig);
        }
        foreach (var o in overrides)
        {
            var eq = o.IndexOf('=');
            if (eq <= 0) throw new ConfigError($"--set expects key=value, found '{HoconShape.Snippet(o)}'.");
            var key = o[..eq].Trim();
            if (!key.StartsWith(Root + ".", StringComparison.Ordinal)) key = $"{Root}.{key}";
            var value = o[(eq + 1)..].Trim();
            var layer = ParseFile($"{key} = {value}", $"--set {HoconShape.Snippet(o)}", folder: null);
            CheckKnown(layer, knownKeys, $"--set {o}", FileLayer + layers.Count + (path is null ? 1 : 0), sources);
            layers.Insert(0, layer);
        }
        // layers holds overrides (last one first), then the file: earlier entries win.
        var config = defaults;
        for (var i = layers.Count - 1; i >= 0; i--) config = layers[i].WithFallback(config);

        var reader = new ConfigReader(config, sources);
        // A relative path is the file's when the file set it, else the working directory's.
        string BaseOf(string key) => reader.SourceOf(key).Layer == FileLayer && path is not null
            ? Path.GetDirectoryName(Path.GetFullPath(path))!
            : Directory.GetCurrentDirectory();
        // A file named in the config, relative to the config file that names it.
        string? OptionalPath(string key) => reader.OptionalString(key) is { } file ? Path.GetFullPath(file, BaseOf(key)) : null;
        var (dataSource, dataPath) = ReadDataSource(reader, BaseOf(DataSourceKey));
        var experiment = ReadExperiment(reader) with { DataSource = dataSource };
        var hospitals = Enumerable.Range(0, experiment.Hospitals).Select(i => ExperimentSettings.HospitalIdOf(i, experiment.Hospitals)).ToList();
        var (availability, tracePath) = SimulationConfig.ReadAvailability(reader, hospitals, BaseOf(SimulationConfig.AvailabilityTraceKey));
        var (fedScaleAvailability, behaviourPath) = SimulationConfig.ReadFedScaleAvailability(
            reader, hospitals, BaseOf(SimulationConfig.FedScaleBehaviourKey), experiment.Seed, availability);
        var (heterogeneity, capacityPath) = SimulationConfig.ReadFedScaleDeviceCapacity(reader, hospitals,
            BaseOf(SimulationConfig.FedScaleCapacityKey), experiment.Seed, experiment.MoCo.BatchSize, SimulationConfig.ReadHeterogeneity(reader, hospitals));
        var rounds = SimulationConfig.ReadRounds(reader, experiment.Seed, experiment.Hospitals);
        var coordinator = rounds with
        {
            Faults = SimulationConfig.ReadFaults(reader, hospitals, rounds.Rounds),
            Heterogeneity = heterogeneity,
            Availability = fedScaleAvailability,
        };
        try { coordinator.Validate(); }
        catch (ArgumentException e) { throw new ConfigError($"round settings: {e.Message}"); }
        var minWorkers = reader.Int("fedactors.cluster.min-workers", 1, 100_000);
        var host = new HostSettings(
            ReadTrainingThreads(reader),
            reader.Int("fedactors.torch-threads", 0, 1024),
            reader.String("fedactors.runs-dir"),
            new ClusterSettings(
                minWorkers,
                reader.OneOf("fedactors.cluster.split-brain", "keep-majority", "keep-oldest"),
                reader.Duration("fedactors.cluster.stable-after"),
                reader.Long("fedactors.cluster.maximum-frame-size", 32_000, 1_000_000))
            {
                MinWorkersTimeout = reader.Duration("fedactors.cluster.min-workers-timeout"),
                // 0: min-workers itself. Above it would never be reached, since the wait ends at min-workers.
                MinWorkersFloor = reader.Int("fedactors.cluster.min-workers-floor", 0, minWorkers),
                CoordinatorTimeout = reader.Duration("fedactors.cluster.coordinator-timeout"),
                TransferPort = reader.Int("fedactors.cluster.transfer-port", 0, 65535),
                SecretFile = OptionalPath("fedactors.cluster.secret-file"),
                TlsCertificate = OptionalPath("fedactors.cluster.tls-certificate"),
                TlsAuthority = OptionalPath("fedactors.cluster.tls-authority"),
                AdmissionTimeout = reader.Duration("fedactors.cluster.admission-timeout"),
                TransferMaxConnections = reader.Int("fedactors.cluster.transfer-max-connections", 1, 4096),
                TransferReadTimeout = reader.Duration("fedactors.cluster.transfer-read-timeout"),
                Formation = ClusterFormationSettings.Read(reader),
            },
            ReadDevices(reader))
        {
            HospitalMemoryBytes = reader.Long("fedactors.devices.hospital-memory-mb", 0, 1L << 30) << 20,
            PassivateHospitals = reader.OneOf("fedactors.passivate-hospitals", "auto", "on", "off", "true", "false", "yes", "no") switch
            {
                "auto" => hospitals.Count > HostSettings.PassivateAboveHospitals,
                var setting => setting is "on" or "true" or "yes",
            },
            Checkpoints = new CheckpointSettings(reader.Int("fedactors.checkpoints.every", 0, 1_000_000), reader.Int("fedactors.checkpoints.keep-last", 0, 1_000_000)),
            Persistence = ReadPersistence(reader),
        };
        if ((host.Cluster.TlsCertificate is null) != (host.Cluster.TlsAuthority is null))
            throw host.Cluster.TlsCertificate is null
                ? reader.Error("fedactors.cluster.tls-authority", "is set without fedactors.cluster.tls-certificate: TLS needs this node's certificate and the cluster's CA (see `fedactors certs`)")
                : reader.Error("fedactors.cluster.tls-certificate", "is set without fedactors.cluster.tls-authority: TLS needs this node's certificate and the cluster's CA (see `fedactors certs`)");
        // resolved.conf keeps the connection string without its password (a resumed run takes it from the environment or ~/.pgpass).
        if (host.Persistence.ConnectionString is { } connection && FedActors.Actors.Hospitals.SnapshotStoreSettings.WithoutPassword(connection) is var shown && shown != connection)
            config = Parse($"{PersistenceSettings.ConnectionKey} = {HoconText.Quote(shown)}", "connection string without its password").WithFallback(config);
        // Counts no machine can hold are refused now, not after setup has grown the process for minutes.
        if (GC.GetGCMemoryInfo().TotalAvailableMemoryBytes is > 0 and var available)
            MemoryEstimate.Check(reader, experiment, residentModels: !host.PassivateHospitals, available);
        // The resolved config runs again as it is (fedactors run --resume): the trace by its full
        // path, each distribution with its own parameters only.
        if (tracePath is not null)
            config = Parse($"{SimulationConfig.AvailabilityTraceKey} = {HoconText.Quote(tracePath)}", "resolved trace path").WithFallback(config);
        if (behaviourPath is not null)
            config = Parse($"{SimulationConfig.FedScaleBehaviourKey} = {HoconText.Quote(behaviourPath)}", "resolved FedScale trace path").WithFallback(config);
        if (capacityPath is not null)
            config = Parse($"{SimulationConfig.FedScaleCapacityKey} = {HoconText.Quote(capacityPath)}", "resolved FedScale trace path").WithFallback(config);
        if (dataPath is not null)
            config = Parse($"{DataSourceKey} = {HoconText.Quote(dataPath)}", "resolved data path").WithFallback(config);
        var method = MethodConfig.Read(reader, methods, BaseOf);
        CheckSources(reader, experiment, method);
        foreach (var key in methods.Keys.OfType<PathKey>())
            if (method.Settings.Get(key) is var full && full != PathKey.None)
                config = Parse($"{MethodConfig.FullKey(key)} = {HoconText.Quote(full)}", "resolved method path").WithFallback(config);
        if (method.Registration.Data == MethodData.Volumes && !experiment.IsVolumetric)
            throw reader.Error(MethodConfig.MethodKey, $"is '{method.Name}', which trains on slices of volumes: set data.source to " +
                $"'{ExperimentSettings.SyntheticCardiacSource}' or a directory of NIfTI volumes");
        if (experiment.IsVolumetric)
        {
            if (experiment.Encoder != ExperimentSettings.UNetEncoder)
                throw reader.Error("fedactors.model.encoder", $"is '{experiment.Encoder}', but a volumetric data source is judged by segmentation, which needs '{ExperimentSettings.UNetEncoder}'");
            if (experiment.SliceSize % (1 << experiment.UNetDepth) != 0)
                throw reader.Error("fedactors.data.slice-size", $"is {experiment.SliceSize}, which a U-Net of depth {experiment.UNetDepth} cannot halve {experiment.UNetDepth} times");
        }
        return new ExperimentConfig(Render(config, SimulationConfig.StaleDistributionFields(reader)), experiment, coordinator, host)
        {
            Sources = reader,
            Method = method,
        };
    }

    /// <summary><c>fedactors.persistence</c>: the store, and a connection string only with postgresql, one that parses.</summary>
    private static PersistenceSettings ReadPersistence(ConfigReader r)
    {
        var store = r.OneOf(PersistenceSettings.StoreKey, PersistenceSettings.FileStore, PersistenceSettings.PostgreSqlStore);
        var connection = r.OptionalString(PersistenceSettings.ConnectionKey);
        if (connection is null) return new PersistenceSettings(store, null);
        if (store != PersistenceSettings.PostgreSqlStore)
            throw ConnectionError(r, $"is set, but {PersistenceSettings.StoreKey} is {store}: set it to {PersistenceSettings.PostgreSqlStore}, or remove the connection string");
        try { _ = FedActors.Actors.Hospitals.SnapshotStoreSettings.PostgreSql(connection, "check"); }
        catch (ArgumentException e) { throw ConnectionError(r, e.Message.Split(" (Parameter")[0]); }
        return new PersistenceSettings(store, connection);
    }

    /// <summary>An error about the connection string naming its source, where a <c>--set</c> source without its value (it may hold a password).</summary>
    private static ConfigError ConnectionError(ConfigReader r, string problem)
    {
        var source = r.SourceOf(PersistenceSettings.ConnectionKey).Source;
        if (source.StartsWith("--set", StringComparison.Ordinal)) source = $"--set {PersistenceSettings.ConnectionKey}=…";
        return new ConfigError($"{source}: '{PersistenceSettings.ConnectionKey}' {problem}.");
    }

    /// <summary>What each source can hold, and which methods it can serve; errors name the key.</summary>
    private static void CheckSources(ConfigReader r, ExperimentSettings experiment, ConfiguredMethod method)
    {
        if (experiment.DataSource == ExperimentSettings.SyntheticSource && experiment.Classes > 4)
            throw r.Error("fedactors.data.classes", $"is {experiment.Classes}, but the synthetic chest radiographs have 4 classes at most");
        if (experiment.IsSkewedClassification && experiment.SiteSizes.Count is not 0 && experiment.SiteSizes.Count != experiment.Hospitals)
            throw r.Error("fedactors.data.site-sizes", $"lists {experiment.SiteSizes.Count} sizes for {experiment.Hospitals} hospitals");
        if (method.Registration.Data == MethodData.LabelledImages && experiment.IsVolumetric)
            throw r.Error(MethodConfig.MethodKey, $"is '{method.Name}', a classification method, but data.source is volumetric");
        if (method.Registration.Encoder is { } encoder && experiment.Encoder != encoder)
            throw r.Error("fedactors.model.encoder", $"is '{experiment.Encoder}', but '{method.Name}' builds its model on the {encoder} encoder");
    }

    /// <summary>
    /// The embedded default file, plus each key a registered method declares that the file does not set, at its
    /// declared default (a method of one's own need not edit the file).
    /// </summary>
    private static string WithMethodDefaults(string defaults, MethodRegistry methods)
    {
        var file = Parse(defaults, "embedded default (cluster-config/single-node.conf)");
        var missing = methods.Keys.Where(k => !file.HasPath(MethodConfig.FullKey(k)))
            .Select(k => $"{MethodConfig.FullKey(k)} = {HoconText.Quote(k.DefaultText)}").ToList();
        return missing.Count == 0 ? defaults : defaults + "\n# Registered methods' keys this file does not set, at their declared defaults\n" + string.Join("\n", missing) + "\n";
    }

    /// <summary>
    /// This config with round settings a program gives in code rather than in HOCON: a strategy, a fault plan and an
    /// availability trace, each replacing the loaded one where given. The seed and every other setting stay as loaded,
    /// so every seed of the run is still derived from the one experiment seed. The <c>fedactors</c> command never calls it.
    /// </summary>
    /// <exception cref="ConfigError">The settings that result fail their checks (a fault at round 0, a probability above 1…).</exception>
    public ExperimentConfig WithRoundsFromCode(Func<RoundRules, IRoundStrategy>? strategy = null, FaultPlan? faults = null, AvailabilityTrace? availability = null)
    {
        var coordinator = Coordinator with
        {
            Strategy = strategy ?? Coordinator.Strategy,
            Faults = faults ?? Coordinator.Faults,
            Availability = availability ?? Coordinator.Availability,
        };
        try { coordinator.Validate(); }
        catch (ArgumentException e) { throw new ConfigError($"round settings given in code: {e.Message}"); }
        return this with { Coordinator = coordinator };
    }

    /// <summary>The federated method the config chose, and the values of the method keys.</summary>
    public required ConfiguredMethod Method { get; init; }

    /// <summary>Where the config was read from, to name the source of a problem found later.</summary>
    internal ConfigReader? Sources { get; init; }

    /// <summary>
    /// Fails for what a single-process <c>fedactors run</c> cannot do: a scripted worker crash
    /// needs worker nodes, which only <c>fedactors node</c> has.
    /// </summary>
    public void CheckSingleProcess()
    {
        var crash = Coordinator.Faults.WorkerCrashes.FirstOrDefault();
        if (crash is null) return;
        var problem = $"has a crash-worker event (worker '{crash.Node}', round {crash.Round}), but a single-process run has no worker nodes; use fedactors node";
        throw Sources?.Error(SimulationConfig.Events, problem) ?? new ConfigError($"'{SimulationConfig.Events}' {problem}.");
    }

    /// <summary><c>auto</c> (one thread per device slot, resolved on the node) or a number from 1 to 1024.</summary>
    private static int ReadTrainingThreads(ConfigReader r)
    {
        const string key = "fedactors.training-threads";
        var value = r.String(key);
        if (value == "auto") return HostSettings.AutoTrainingThreads;
        if (!int.TryParse(value, System.Globalization.NumberStyles.Integer, System.Globalization.CultureInfo.InvariantCulture, out _))
            throw r.Error(key, $"must be auto (one thread per device slot) or an integer from 1 to 1024, found '{HoconShape.Snippet(value)}'");
        return r.Int(key, 1, 1024);
    }

    private static DeviceSlotsSettings ReadDevices(ConfigReader r)
    {
        var devices = new DeviceSlotsSettings
        {
            Devices = r.StringList("fedactors.devices.list"),
            SlotsPerDevice = r.Int("fedactors.devices.slots-per-device", 1, 1024),
            MaxLeaseHold = r.Duration("fedactors.devices.max-lease-hold"),
            MemoryBudgetBytes = r.Long("fedactors.devices.memory-budget-mb", 0, 1L << 30) << 20,
            Placement = r.OneOf("fedactors.devices.placement", "arrival", "longest-first") == "longest-first" ? PlacementOrder.LongestFirst : PlacementOrder.Arrival,
        };
        // Names are checked here, device presence when the node starts (this process may not be that node).
        try { if (!devices.IsAuto) devices.ResolveDevices(cudaDevices: int.MaxValue); }
        catch (ArgumentException e) { throw r.Error("fedactors.devices.list", e.Message.TrimEnd('.')); }
        return devices;
    }

    private const string DataSourceKey = "fedactors.data.source";

    /// <summary><c>synthetic</c>, <c>synthetic-cardiac</c>, or a MedMNIST file or a directory of NIfTI volumes by its full path (which must exist).</summary>
    private static (string Source, string? FullPath) ReadDataSource(ConfigReader r, string relativeTo)
    {
        var source = r.String(DataSourceKey);
        if (source is ExperimentSettings.SyntheticSource or ExperimentSettings.SyntheticCardiacSource or ExperimentSettings.SyntheticSkinSource) return (source, null);
        var full = Path.GetFullPath(source, relativeTo);
        if (!File.Exists(full) && !Directory.Exists(full))
            throw r.Error(DataSourceKey, $"names '{HoconShape.Snippet(full)}', which does not exist (give '{ExperimentSettings.SyntheticSource}', " +
                $"'{ExperimentSettings.SyntheticCardiacSource}', '{ExperimentSettings.SyntheticSkinSource}', a MedMNIST .npz, a directory of NIfTI volumes or one of images with a {ExperimentSettings.ImageFolderLabels})");
        return (full, full);
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
            HeadNorm = r.OneOf("fedactors.moco.head-norm", "batch-norm", "none") == "none" ? HeadNorm.None : HeadNorm.BatchNorm,
        };
        return new ExperimentSettings
        {
            Seed = (ulong)r.Long("fedactors.seed", 0, long.MaxValue),
            Device = r.String("fedactors.device"),
            Hospitals = r.Int("fedactors.data.hospitals", 1, 1_000_000),
            TrainImagesPerHospital = trainPerHospital,
            TestImagesPerHospital = r.Int("fedactors.data.test-images-per-hospital", 1, 10_000_000),
            ImageSize = r.Int("fedactors.data.image-size", 16, 1024),
            Classes = r.Int("fedactors.data.classes", 2, Training.Data.SyntheticSkinLesions.ClassNames.Length),
            SiteSizes = r.DoubleList("fedactors.data.site-sizes", 1e-9, 1e12),
            ImbalanceRatio = r.Double("fedactors.data.imbalance-ratio", 1, 1e6),
            ValidationFraction = r.Double("fedactors.data.validation-fraction", 1e-3, 0.9),
            ImageFolderIdColumn = r.String("fedactors.data.image-folder.id-column"),
            ImageFolderLabelColumn = r.String("fedactors.data.image-folder.label-column"),
            ImageFolderSplitColumn = r.String("fedactors.data.image-folder.split-column"),
            ImageFolderTestSplit = r.String("fedactors.data.image-folder.test-split"),
            SiteShift = r.Double("fedactors.data.site-shift", 0, 1),
            LabelSkewAlpha = r.String("fedactors.data.label-skew") == "none" ? null : r.Double("fedactors.data.label-skew", 1e-3, 1e6),
            EncoderWidths = widths.ToArray(),
            ProjectionDim = r.Int("fedactors.model.projection-dim", 1, 65_536),
            Encoder = r.OneOf("fedactors.model.encoder", ExperimentSettings.SmallCnnEncoder, ExperimentSettings.UNetEncoder),
            UNetWidth = r.Int("fedactors.model.unet-width", 1, 1024),
            UNetDepth = r.Int("fedactors.model.unet-depth", 1, 6),
            SliceSize = r.Int("fedactors.data.slice-size", 32, 1024),
            Partitions = r.Int("fedactors.data.partitions", 1, 64),
            VolumesPerHospital = r.Int("fedactors.data.volumes-per-hospital", 1, 100_000),
            VolumeDepth = r.Int("fedactors.data.volume-depth", 4, 4096),
            TestVolumes = r.Int("fedactors.data.test-volumes", 1, 100_000),
            ValidationVolumes = r.Int("fedactors.data.validation-volumes", 1, 100_000),
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
            EvaluationFractions = r.DoubleList("fedactors.evaluation.label-fractions", 1e-6, 1),
            FineTune = r.Bool("fedactors.evaluation.fine-tune")
                ? new FineTuneOptions
                {
                    Steps = r.Int("fedactors.evaluation.fine-tune-steps", 1, 10_000_000),
                    ValidateEvery = r.Int("fedactors.evaluation.fine-tune-validate-every", 1, 10_000_000),
                    BatchSize = r.Int("fedactors.evaluation.fine-tune-batch-size", 1, 1_000_000),
                    LearningRate = r.Double("fedactors.evaluation.fine-tune-learning-rate", 1e-9, 10),
                }
                : null,
            Segmentation = new SegmentationEvaluationOptions
            {
                LabelledVolumes = r.IntList("fedactors.evaluation.labelled-volumes") is var n && n.Any(v => v < 1)
                    ? throw r.Error("fedactors.evaluation.labelled-volumes", $"needs counts of at least 1, found [{string.Join(", ", n)}]") : n,
                FineTune = new SegmentationFineTuneOptions
                {
                    Epochs = r.Int("fedactors.evaluation.segmentation.epochs", 1, 100_000),
                    BatchSize = r.Int("fedactors.evaluation.segmentation.batch-size", 1, 100_000),
                    LearningRate = r.Double("fedactors.evaluation.segmentation.learning-rate", 1e-9, 10),
                },
                FederatedRounds = r.Int("fedactors.evaluation.segmentation.federated-rounds", 1, 100_000),
                FederatedLocalEpochs = r.Int("fedactors.evaluation.segmentation.federated-local-epochs", 1, 100_000),
            },
            ProbeLabelFraction = r.Double("fedactors.probe.label-fraction", 1e-9, 1),
            Probe = new LinearProbeOptions
            {
                Steps = r.Int("fedactors.probe.steps", 1, 1_000_000),
                ValidateEvery = r.Int("fedactors.probe.validate-every", 1, 1_000_000),
                LearningRate = r.Double("fedactors.probe.learning-rate", 1e-9, 100),
            },
        };
    }

    private static Config Parse(string text, string source)
    {
        try { return ConfigurationFactory.ParseString(text); }
        catch (Exception e) { throw new ConfigError($"{source}: not valid HOCON: {HoconShape.Snippet(e.Message)}"); }
    }

    /// <summary>
    /// A user's HOCON: its shape checked first (<see cref="HoconShape"/>: nesting, unclosed braces, includes), then
    /// parsed, with each <c>include "FILE"</c> read from <paramref name="folder"/> (the config file's own; null for
    /// <c>--set</c>, where includes are refused).
    /// </summary>
    private static Config ParseFile(string text, string source, string? folder = "")
    {
        if (folder == "") folder = Path.GetDirectoryName(Path.GetFullPath(source))!;
        var includes = HoconShape.Check(text, source);
        if (includes.Count > 0 && folder is null)
            throw new ConfigError($"{source}: include is not allowed in --set; put it in the experiment file.");
        var seen = 0;
        Akka.Configuration.Hocon.HoconRoot Include(string name, string from, IReadOnlyList<HoconShape.Include> known)
        {
            // A cycle of includes would never end; a chain this long is one.
            if (++seen > 32) throw new ConfigError($"{from}: more than 32 includes (a file that includes itself?).");
            var include = known.FirstOrDefault(k => k.Name == name);
            var full = HoconShape.Resolve(include.Name is null ? new HoconShape.Include(name, 0) : include, folder!, from);
            var included = File.ReadAllText(full);
            var inner = HoconShape.Check(included, full);
            return Akka.Configuration.Hocon.Parser.Parse(included, n => Include(n, full, inner));
        }
        foreach (var include in includes) HoconShape.Resolve(include, folder!, source);
        try { return ConfigurationFactory.ParseString(text, name => Include(name, source, includes)); }
        catch (ConfigError) { throw; }
        catch (Exception e) { throw new ConfigError($"{source}: not valid HOCON: {HoconShape.Snippet(e.Message)}"); }
    }

    private static IEnumerable<string> LeafKeys(Config config) => LeafKeys(config.Root, "");

    /// <summary>Every leaf key of a resolved config and its value as text (lists as HOCON), to compare runs.</summary>
    public static IReadOnlyDictionary<string, string> Flatten(string hocon, string source)
    {
        var config = Parse(hocon, source);
        return LeafKeys(config).ToDictionary(k => k, k => Text(config.GetValue(k)), StringComparer.Ordinal);
    }

    // Akka's HOCON prints a value it has no form for as "<<unknown value>>"; from a parsed file that is an empty list.
    private static string Text(Akka.Configuration.Hocon.HoconValue value) =>
        value.ToString().Trim() is var text && text == "<<unknown value>>" ? "[]" : text;

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

    private const int FileLayer = 1;

    private static void CheckKnown(Config layer, HashSet<string> known, string source, int layerIndex, KeySources sources)
    {
        foreach (var key in LeafKeys(layer))
        {
            if (!known.Contains(key) && !IsDistributionField(key))
            {
                var near = known.Where(k => k.Split('.')[^1] == key.Split('.')[^1]).ToList();
                var hint = near.Count > 0 ? $" (did you mean {string.Join(" or ", near)}?)" : "";
                throw new ConfigError($"{sources.WithLine(source, key)}: unknown key '{HoconShape.Snippet(key)}'{hint}.");
            }
            sources.Record(key, source, layerIndex);
        }
    }

    /// <summary>A distribution object may carry any distribution's parameters; which ones it needs is checked when it is read.</summary>
    private static bool IsDistributionField(string key) =>
        SimulationConfig.DistributionKeys.Any(d => key.Length > d.Length + 1 && key.StartsWith(d + ".", StringComparison.Ordinal) &&
                                                   SimulationConfig.DistributionFields.Contains(key[(d.Length + 1)..]));

    // Akka's renderer writes an empty string as nothing at all (`key : ` and a line break), which reads back as the next line.
    private static string QuoteEmptyStrings(string rendered) =>
        System.Text.RegularExpressions.Regex.Replace(rendered, @"^(\s*\S+ :) ?(?=\r?$)", "$1 \"\"", System.Text.RegularExpressions.RegexOptions.Multiline);

    // ... and a string holding '=' (a connection string) unquoted, which does not read back either.
    private static string QuoteAssignments(string rendered) =>
        System.Text.RegularExpressions.Regex.Replace(rendered, @"^(\s*\S+ :) ([^""\[{\s][^\r\n]*=[^\r\n]*?)(?=\r?$)",
            m => $"{m.Groups[1].Value} {HoconText.Quote(m.Groups[2].Value)}", System.Text.RegularExpressions.RegexOptions.Multiline);

    private static string Render(Config config, IEnumerable<(string Key, string Field)> dropped)
    {
        // One flat tree (no fallback chain) whose objects can be edited before it is written.
        var flat = Parse($"{Root} {{\n{QuoteAssignments(QuoteEmptyStrings(config.GetConfig(Root).Root.ToString()))}\n}}\n", "resolved configuration");
        foreach (var (key, field) in dropped) flat.GetValue(key).GetObject().Items.Remove(field);
        // Akka's renderer writes an empty list as "<<unknown value>>" (HoconValue.IsArray() is false for it).
        var text = QuoteAssignments(QuoteEmptyStrings(flat.GetConfig(Root).Root.ToString())).Replace(": \"<<unknown value>>\"", ": []");
        return $"# Resolved FedActors configuration (defaults + file + --set overrides)\n{Root} {{\n{text}\n}}\n";
    }

}
