using Akka.Actor;
using Akka.Cluster;
using Akka.Cluster.Sharding;
using Akka.Hosting;
using FedActors.Actors.Cluster;
using FedActors.Actors.Coordination;
using FedActors.Host.Configuration;
using FedActors.Host.Runs;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace FedActors.Host.Commands;

/// <summary>
/// <c>fedactors node [experiment.conf] --roles worker|coordinator[,worker] [--seed ADDRESS ...] [--port N] [--transfer-port N] [--hostname H] [--name NAME] [--run-id ID]</c>:
/// one cluster node. Every node must run the same experiment config and run id. The coordinator
/// node that hosts the round coordinator singleton waits for <c>cluster.min-workers</c> workers
/// (at most <c>cluster.min-workers-timeout</c>, then starts with at least <c>cluster.min-workers-floor</c> or
/// stops with a configuration error), drives the run, writes the run directory, then asks every member to
/// leave; other coordinator nodes stand by and take the run over (from its last round checkpoint) if that
/// node goes; a worker hosts hospitals until it is asked to leave or stopped, and gives up if no coordinator
/// node appears within <c>cluster.coordinator-timeout</c>.
/// </summary>
internal static class NodeCommand
{
    /// <summary>The node command's parsed arguments.</summary>
    /// <param name="Node">This node's cluster settings (roles, seeds, port, hostname, name) from the command line.</param>
    /// <param name="ConfigFile">The experiment file, or null for the embedded default.</param>
    /// <param name="Overrides"><c>--set key=value</c> overrides, in order.</param>
    /// <param name="SnapshotDirectory">Where hospital snapshots and round checkpoints go (<c>--snapshots</c>), or null for the run directory's <c>snapshots/</c>.</param>
    /// <param name="RunId">The run's id (<c>--run-id</c>), or null for <see cref="DefaultRunId"/>.</param>
    /// <param name="TransferPort">The weights transfer's bulk port (<c>--transfer-port</c>), or null for <c>cluster.transfer-port</c>.</param>
    public sealed record Options(ClusterNodeSettings Node, string? ConfigFile, IReadOnlyList<string> Overrides, string? SnapshotDirectory = null,
        string? RunId = null, int? TransferPort = null);

    /// <summary>
    /// A run id every node derives alike from the experiment: the same config (and seed) is the same
    /// run, which replays to the same numbers, so starting it again continues or reports it.
    /// </summary>
    /// <remarks>Each node's own certificate (<c>cluster.tls-certificate</c>) is left out: it differs from node to node of one run.</remarks>
    public static string DefaultRunId(ExperimentConfig config) => "cluster-" +
        Convert.ToHexString(System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(string.Join("\n",
            config.ResolvedHocon.Split('\n').Where(line => !line.TrimStart().StartsWith("tls-certificate", StringComparison.Ordinal))))))[..12].ToLowerInvariant();

    /// <summary>
    /// Joins (or forms) the cluster and serves until the run ends: a worker hosts hospitals until asked to leave; a
    /// coordinator node waits for the workers, drives the run (or stands by to take it over) and then asks every member to leave.
    /// </summary>
    /// <param name="options">The parsed arguments.</param>
    /// <param name="output">Where progress lines are written.</param>
    /// <param name="cancel">Stops the node (Ctrl+C); it then leaves the cluster.</param>
    /// <returns><see cref="Program.Ok"/>.</returns>
    /// <exception cref="ConfigError">
    /// The config is invalid; the runs or snapshot directory cannot be created; fewer than <c>cluster.min-workers-floor</c>
    /// workers joined within <c>cluster.min-workers-timeout</c>; or (a worker) no coordinator node appeared within
    /// <c>cluster.coordinator-timeout</c>. Each message names the keys to look at.
    /// </exception>
    public static async Task<int> ExecuteAsync(Options options, TextWriter output, CancellationToken cancel)
    {
        var config = ExperimentConfig.Load(options.ConfigFile, options.Overrides);
        var cluster = config.Host.Cluster;
        var node = options.Node with
        {
            SplitBrainStrategy = cluster.SplitBrain,
            StableAfter = cluster.StableAfter,
            MaximumFrameBytes = cluster.MaximumFrameBytes,
            TransferPort = options.TransferPort ?? cluster.TransferPort,
        };
        try { node.Validate(); }
        catch (ArgumentException e) { throw new ConfigError($"{e.Message} (--transfer-port, fedactors.cluster.transfer-port)"); }
        var secretKey = ClusterSecretKey(cluster);
        if (ClusterTls(cluster) is { } tls)
            // --seed may be written akka.tcp:// (as the Slurm and Kubernetes scripts do); over TLS the address is akka.ssl.tcp://.
            node = node with { Tls = tls, SeedNodes = node.SeedNodes.Select(s => s.StartsWith("akka.tcp://", StringComparison.Ordinal) ? "akka.ssl.tcp://" + s["akka.tcp://".Length..] : s).ToList() };
        var formation = cluster.Formation;
        if (formation.UsesBootstrap && node.SeedNodes.Count > 0)
            throw new ConfigError($"--seed and fedactors.cluster.discovery = {formation.Discovery} exclude each other: with discovery the nodes find " +
                                  "each other through Akka.Management's bootstrap; drop --seed, or set cluster.discovery = seeds");
        ClusterFormation.RequireReachableDiscovery(formation, Environment.GetEnvironmentVariable);
        // A node without --seed is its own seed. On --port 0 the system picks a free port and the node joins itself once
        // bound; its "up" line prints the address the others' --seed names (no port to agree on beforehand, none to race for).
        var joinsItself = node.SeedNodes.Count == 0 && node.Port == 0 && !formation.UsesBootstrap;
        if (node.SeedNodes.Count == 0 && !joinsItself && !formation.UsesBootstrap)
            node = node with { SeedNodes = [$"{node.AddressScheme}://{ClusterHostingExtensions.SystemName}@{node.Hostname}:{node.Port}"] };
        var runId = options.RunId ?? DefaultRunId(config);
        node = node with
        {
            Admission = new ClusterAdmissionSettings(runId, secretKey) { Timeout = cluster.AdmissionTimeout },
            TransferMaxConnections = cluster.TransferMaxConnections,
            TransferReadTimeout = cluster.TransferReadTimeout,
        };
        if (secretKey is null)
            output.WriteLine($"warning: no cluster secret ({SecretVariable} or fedactors.cluster.secret-file): this cluster is open, any process that " +
                             "reaches its ports and names this run and experiment can join it (see README, Security)");
        if (node.Tls is null)
            output.WriteLine("warning: no TLS (fedactors.cluster.tls-certificate, tls-authority): remoting is plain TCP, readable on the network (see README, Security)");
        // A placeholder path (the shipped /shared/...) fails here, named, rather than deep in a mkdir.
        if (node.IsCoordinator || options.SnapshotDirectory is null) RunDirectory.RequireDirectory(config.Host.RunsDirectory, "fedactors.runs-dir");
        if (options.SnapshotDirectory is not null) RunDirectory.RequireDirectory(options.SnapshotDirectory, "--snapshots");
        // Coordinator nodes share the run directory (one machine, or runs-dir on shared storage).
        var runDir = node.IsCoordinator ? RunDirectory.Named(config.Host.RunsDirectory, runId, config.ResolvedHocon) : null;
        // Every node of a run snapshots hospitals and round checkpoints to the same place: by default the
        // run directory's snapshots/ (one machine); across machines, a shared --snapshots path.
        var snapshots = options.SnapshotDirectory ?? Path.Combine(config.Host.RunsDirectory, runId, RunDirectory.SnapshotsDirectory);
        var prepared = PreparedRun.Prepare(config, snapshots, checkpointRounds: true, runId: runId);
        using var app = NodeHost.Build(akka => akka.WithFedActorsNode(node, prepared.Run).WithClusterFormation(formation, node.Hostname));
        await app.StartAsync(cancel);
        var system = app.Services.GetRequiredService<ActorSystem>();
        var self = Akka.Cluster.Cluster.Get(system);
        var refusal = AdmissionRefusal.Of(system);
        // A node the cluster refused (and downed) stops with the reason, exit code 2, not as if the run had ended.
        void ThrowIfRefused()
        {
            if (refusal.IsCompletedSuccessfully)
                throw new ConfigError($"this node was refused by cluster member {refusal.Result.By}: {refusal.Result.Reason}");
        }
        if (joinsItself) self.Join(self.SelfAddress);
        var management = await ClusterFormation.StartAsync(system, formation, node.Hostname);
        var joins = management is null
            ? $"seeds [{(joinsItself ? $"{self.SelfAddress} (itself)" : string.Join(", ", node.SeedNodes))}]"
            : $"discovery {formation.Discovery} (management {management})";
        output.WriteLine($"node {self.SelfAddress} up with roles [{string.Join(", ", node.Roles)}], {joins}, " +
                         $"run id {runId}, training threads {prepared.Run.TrainingThreads}{(config.Host.TrainingThreads == HostSettings.AutoTrainingThreads ? " (auto: devices x slots)" : "")}");
        output.Flush();
        try
        {
            // With discovery: Up through the bootstrap, or a ConfigError naming what it found. (A node stopped meanwhile goes on to
            // the waits below, which see its actor system terminated.)
            await ClusterFormation.WaitUntilUpAsync(self, formation, cancel);
            if (!node.IsCoordinator)
            {
                if (!await NodeHost.WaitForCoordinatorAsync(self, cluster.CoordinatorTimeout, cancel) && !system.WhenTerminated.IsCompleted)
                    throw new ConfigError($"no coordinator node joined this worker's cluster within fedactors.cluster.coordinator-timeout " +
                                          $"({WorkerQuorum.Format(cluster.CoordinatorTimeout)}): check that the coordinator node started and that " +
                                          (formation.UsesBootstrap ? $"discovery {formation.Discovery} finds it" : $"--seed [{string.Join(", ", node.SeedNodes)}] reaches it") +
                                          ", or raise cluster.coordinator-timeout");
                await system.WhenTerminated.WaitAsync(cancel);
                ThrowIfRefused();
                output.WriteLine("node left the cluster");
                return Program.Ok;
            }
            var quorum = cluster.Quorum;
            output.WriteLine($"waiting for {quorum.Wanted} worker(s) to join (at most {WorkerQuorum.Format(quorum.Timeout)}, then starting with at least {quorum.Floor})");
            output.Flush();
            var (decision, joined) = await NodeHost.WaitForWorkersAsync(self, app.Services.GetRequiredService<ActorRegistry>().Get<HospitalRegion>(), quorum, cancel);
            switch (decision)
            {
                case WorkerWaitDecision.Wait:
                    ThrowIfRefused();
                    output.WriteLine("the cluster was shut down before the run started (another coordinator node gave up); node left the cluster");
                    return Program.Ok;
                case WorkerWaitDecision.GiveUp:
                    // Nothing will run: let the workers that did join go too, rather than wait for their own timeouts.
                    foreach (var member in self.State.Members.Where(m => m.Address != self.SelfAddress)) self.Leave(member.Address);
                    throw new ConfigError(quorum.GiveUpMessage(joined));
                case WorkerWaitDecision.StartWithFewer:
                    output.WriteLine(quorum.FewerMessage(joined));
                    output.Flush();
                    break;
            }
            // Only the node the singleton lives on drives the run; other coordinator nodes stand by and take it over when it moves to them.
            var tookOver = false;
            IActorRef? coordinator;
            while ((coordinator = await ClusterHostingExtensions.LocalRoundCoordinator(system, cancel)) is null)
            {
                if (!tookOver && OldestCoordinator(self) is { } oldest && oldest.Address != self.SelfAddress)
                {
                    output.WriteLine($"standing by: the round coordinator runs on {oldest.Address}; this node takes the run over if that node goes");
                    output.Flush();
                    tookOver = true;
                }
                await Task.WhenAny(Task.Delay(500, cancel), system.WhenTerminated);
                cancel.ThrowIfCancellationRequested();
                if (system.WhenTerminated.IsCompleted)
                {
                    ThrowIfRefused();
                    output.WriteLine("the run ended on another coordinator node; node left the cluster");
                    return Program.Ok;
                }
            }
            // The singleton also moves here when the driving node leaves at the end of the run: a standby asked to leave,
            // or one that finds the run finished, has nothing to take over (driving it again raced the shutdown).
            if (tookOver && (runDir!.IsFinished || self.SelfMember.Status is not MemberStatus.Up))
            {
                output.WriteLine("the run ended on another coordinator node; node left the cluster");
                return Program.Ok;
            }
            if (tookOver) output.WriteLine($"this node now hosts the round coordinator: continuing run {runId} from its last round checkpoint");
            try
            {
                await prepared.DriveAsync(runDir!, system, coordinator, output, cancel, resumed: tookOver || runDir!.HasRecords);
                RunFailure.Clear(runDir!); // a standby that finished a run another node failed
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                // Marked as `fedactors run` marks its runs (never removed: other coordinator nodes share the directory).
                RunFailure.Record(runDir!, e, createdByThisProcess: false);
                throw;
            }
            // The run is over: ask every other member to leave, and let them go first. A node whose peer (often the
            // seed, this one) vanishes before it has left logs the broken association as an error; a clean end logs none.
            foreach (var member in self.State.Members.Where(m => m.Address != self.SelfAddress)) self.Leave(member.Address);
            using (var othersGone = CancellationTokenSource.CreateLinkedTokenSource(cancel))
            {
                othersGone.CancelAfter(TimeSpan.FromSeconds(30));
                try
                {
                    while (self.State.Members.Any(m => m.Address != self.SelfAddress)) await Task.Delay(100, othersGone.Token);
                }
                catch (OperationCanceledException) when (!cancel.IsCancellationRequested) { output.WriteLine("the other nodes did not leave within 30 s; leaving anyway"); }
            }
            return Program.Ok;
        }
        finally
        {
            // A node that never joined (no seed answered), or was downed (its system is gone), has nothing to leave.
            if (!system.WhenTerminated.IsCompleted && self.State.Members.Any(m => m.Address == self.SelfAddress))
            {
                using var leaveTimeout = new CancellationTokenSource(TimeSpan.FromSeconds(20));
                try { await self.LeaveAsync(leaveTimeout.Token); }
                catch (Exception e) when (e is OperationCanceledException or TaskCanceledException or ObjectDisposedException) { output.WriteLine("leaving the cluster timed out; stopping anyway"); }
            }
            await app.StopAsync(CancellationToken.None);
        }
    }

    /// <summary>The environment variable holding the cluster secret; it takes precedence over <c>fedactors.cluster.secret-file</c>.</summary>
    public const string SecretVariable = "FEDACTORS_CLUSTER_SECRET";

    /// <summary>
    /// The HMAC key of the cluster secret from <see cref="SecretVariable"/>, else from <c>fedactors.cluster.secret-file</c>
    /// (its first line), or null when neither is set (an open cluster).
    /// </summary>
    /// <exception cref="ConfigError">The file cannot be read, or the secret is shorter than 16 characters; the message names the source, never the secret.</exception>
    private static byte[]? ClusterSecretKey(Configuration.ClusterSettings cluster)
    {
        string secret, source;
        if (Environment.GetEnvironmentVariable(SecretVariable) is { Length: > 0 } fromEnvironment)
            (secret, source) = (fromEnvironment, SecretVariable);
        else if (cluster.SecretFile is { } file)
        {
            try { secret = File.ReadLines(file).FirstOrDefault() ?? ""; }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                throw new ConfigError($"fedactors.cluster.secret-file: cannot read '{file}' ({e.GetType().Name})");
            }
            source = $"fedactors.cluster.secret-file ({file})";
        }
        else return null;
        try { return ClusterAdmissionSettings.KeyOf(secret); }
        catch (ArgumentException e) { throw new ConfigError($"{source}: {e.Message}"); }
    }

    /// <summary>The environment variable holding the password of the node's TLS certificate file (none if unset).</summary>
    public const string TlsPasswordVariable = "FEDACTORS_TLS_PASSWORD";

    /// <summary>This node's mutual-TLS settings from <c>fedactors.cluster.tls-certificate</c> and <c>tls-authority</c>, or null when they are unset.</summary>
    /// <exception cref="ConfigError">A file cannot be read or does not fit the other; the message names the key and the file.</exception>
    private static ClusterTlsSettings? ClusterTls(Configuration.ClusterSettings cluster)
    {
        if (cluster.TlsCertificate is not { } certificate || cluster.TlsAuthority is not { } authority) return null;
        try { return ClusterTlsSettings.Load(certificate, authority, Environment.GetEnvironmentVariable(TlsPasswordVariable)); }
        catch (ArgumentException e) { throw new ConfigError($"fedactors.cluster.tls-certificate / tls-authority: {e.Message}"); }
    }

    /// <summary>Where the singleton lives while membership is settled: the oldest Up coordinator-role member.</summary>
    private static Member? OldestCoordinator(Akka.Cluster.Cluster self) =>
        self.State.Members.Where(m => m.Status == MemberStatus.Up && m.HasRole(NodeRoles.Coordinator))
            .OrderBy(m => m, Member.AgeOrdering).FirstOrDefault();

    /// <summary>Parses node arguments; anything malformed is a usage error.</summary>
    public static Options Parse(IReadOnlyList<string> args)
    {
        string? file = null;
        var overrides = new List<string>();
        var seeds = new List<string>();
        string? snapshots = null;
        string? runId = null;
        int? transferPort = null;
        var node = new ClusterNodeSettings();
        for (var i = 0; i < args.Count; i++)
        {
            string Value() => i + 1 < args.Count ? args[++i] : throw new ArgumentException($"{args[i]} needs a value.");
            switch (args[i])
            {
                case "--roles": node = node with { Roles = Value().Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries) }; break;
                case "--seed": seeds.Add(Value()); break;
                case "--port":
                    var port = Value();
                    node = node with { Port = int.TryParse(port, out var p) && p is >= 0 and <= 65535 ? p : throw new ArgumentException($"--port must be 0..65535, found '{port}'.") };
                    break;
                case "--transfer-port":
                    var bulk = Value();
                    transferPort = int.TryParse(bulk, out var b) && b is >= 0 and <= 65535 ? b : throw new ArgumentException($"--transfer-port must be 0..65535 (0 picks a free one), found '{bulk}'.");
                    break;
                case "--hostname": node = node with { Hostname = Value() }; break;
                case "--name": node = node with { Name = Value() }; break;
                case "--set": overrides.Add(Value()); break;
                case "--snapshots": snapshots = Value(); break;
                case "--run-id":
                    runId = Value();
                    if (!System.Text.RegularExpressions.Regex.IsMatch(runId, "^[A-Za-z0-9][A-Za-z0-9._-]*$"))
                        throw new ArgumentException($"--run-id must be letters, digits, '.', '_' or '-' (a directory name), found '{runId}'.");
                    break;
                default:
                    if (args[i].StartsWith('-')) throw new ArgumentException($"unknown option '{args[i]}' for node.");
                    if (file is not null) throw new ArgumentException($"node takes one experiment file, found a second: '{args[i]}'.");
                    file = args[i];
                    break;
            }
        }
        node = node with { SeedNodes = seeds };
        node.Validate();
        return new Options(node, file, overrides, snapshots, runId, transferPort);
    }
}
