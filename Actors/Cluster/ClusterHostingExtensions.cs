using Akka.Actor;
using Akka.Cluster.Hosting;
using Akka.Cluster.Hosting.SBR;
using Akka.Cluster.Sharding;
using Akka.Event;
using Akka.Hosting;
using Akka.Remote.Hosting;
using FedActors.Actors.Coordination;
using FedActors.Actors.Devices;
using FedActors.Actors.Faults;
using FedActors.Actors.Hospitals;
using FedActors.Actors.Hosting;
using FedActors.Actors.Protocol;
using FedActors.Actors.Transfer;

namespace FedActors.Actors.Cluster;

/// <summary>Registry key of the hospital shard region (or its proxy on non-worker nodes).</summary>
public sealed class HospitalRegion;

/// <summary>
/// Akka.Hosting wiring of a FedActors cluster node: remoting, cluster with Split Brain
/// Resolver, hospitals as sharding entities on worker nodes (ddata state store, custom
/// hand-off), the round coordinator as a singleton on coordinator nodes, proxies elsewhere.
/// Every node builds the same <see cref="FederatedRun"/> from the same experiment config,
/// so whichever worker hosts a hospital can create it from its id.
/// </summary>
public static class ClusterHostingExtensions
{
    /// <summary>The ActorSystem's name, which every node of a cluster shares: seed addresses read <c>akka.tcp://fedactors@host:port</c>.</summary>
    public const string SystemName = "fedactors";

    /// <summary>The type name of the hospital shard region (hospitals are sharding entities keyed by hospital id).</summary>
    public const string HospitalRegionName = "hospital";

    /// <summary>The name of the round coordinator's cluster singleton (and its manager) on coordinator-role nodes.</summary>
    public const string CoordinatorSingletonName = "round-coordinator";
    private const int MaxShards = 100;

    /// <summary>
    /// The round coordinator singleton if it runs on this node now, else null. Drive a run through
    /// this, not the proxy: for a while after the singleton's node dies the proxy still forwards to it.
    /// </summary>
    public static async Task<IActorRef?> LocalRoundCoordinator(ActorSystem system, CancellationToken cancel = default)
    {
        try
        {
            return await system.ActorSelection($"/user/{CoordinatorSingletonName}/{CoordinatorSingletonName}")
                .ResolveOne(TimeSpan.FromSeconds(3), cancel);
        }
        catch (ActorNotFoundException)
        {
            return null;
        }
    }

    /// <summary>
    /// How a node moves messages and weights to other nodes: the protocol serializer, remoting on the node's
    /// address with its frame limit (over mutual TLS when the node has <see cref="ClusterNodeSettings.Tls"/>), and the node's weights transfer. Weights exceed a remoting frame: rounds send
    /// references, resolved in chunks by each node's transfer actor. (The transport benchmark's processes use this alone.)
    /// </summary>
    public static AkkaConfigurationBuilder WithNodeTransport(this AkkaConfigurationBuilder builder, ClusterNodeSettings node)
    {
        // Junk on the remoting port is one warning line, not an ERROR with a trace (see ForeignConnectionLog); a peer's
        // leaving is not an ERROR either (DisassociationLog).
        var foreign = new ForeignConnectionLog();
        var disassociation = new DisassociationLog();
        return builder
            .AddSetup(new LogFilterSetup([foreign, disassociation]))
            .AddStartup((system, _) =>
            {
                foreign.Attach(system.EventStream);
                disassociation.Attach(system.EventStream);
            })
            .WithFedActorsSerialization()
            .WithRemoting(new RemoteOptions
            {
                HostName = node.Hostname, Port = node.Port, MaxFrameSize = node.MaximumFrameBytes,
                EnableSsl = node.Tls is not null,
                Ssl = node.Tls is { } tls
                    ? new SslOptions { X509Certificate = tls.Certificate, RequireMutualAuthentication = true, ValidateCertificateHostname = false, CustomValidator = tls.Validator() }
                    : new SslOptions(),
            })
            // Blobs beside remoting, over plain TCP on the node's transfer port (0: a free one) that every WeightsRef names.
            .WithWeightsTransfer(new WeightsTransferSettings
            {
                BulkHost = node.Hostname, BulkPort = node.TransferPort,
                BulkMaxConnections = node.TransferMaxConnections, BulkReadTimeout = node.TransferReadTimeout, Tls = node.Tls,
            });
    }

    /// <summary>
    /// Wires a cluster node for <paramref name="run"/>: remoting and weights transfer, clustering with the Split Brain
    /// Resolver, hospital snapshots if the run has a snapshot directory (and coordinator checkpoints if it asks for them); on worker nodes the
    /// fault agent, device slots and the hospital shard region; on coordinator nodes the round coordinator singleton
    /// (with a proxy), elsewhere proxies.
    /// </summary>
    /// <param name="builder">The node's Akka.Hosting builder.</param>
    /// <param name="node">This node's address, roles, seeds and cluster options; validated here.</param>
    /// <param name="run">The experiment every node builds alike from the same config.</param>
    /// <param name="crashNode">
    /// What a scripted <c>crash-worker</c> does to this worker: by default it kills the process
    /// (<see cref="NodeFaultAgent.KillThisProcess"/>); in-process test clusters pass their own.
    /// </param>
    /// <returns><paramref name="builder"/>, for chaining.</returns>
    /// <exception cref="ArgumentException"><paramref name="node"/> is invalid, or the run passivates hospitals or checkpoints rounds without a snapshot directory.</exception>
    public static AkkaConfigurationBuilder WithFedActorsNode(this AkkaConfigurationBuilder builder, ClusterNodeSettings node, FederatedRun run,
        Action<ActorSystem>? crashNode = null)
    {
        node.Validate();
        if (run.PassivateHospitals && run.SnapshotDirectory is null)
            throw new ArgumentException("Passivating hospitals need the run's snapshot directory, or a stopped hospital would lose its state.", nameof(run));
        var hospitals = run.Hospitals.ToDictionary(h => h.HospitalId);
        var ids = run.Hospitals.Select(h => h.HospitalId).ToList();
        var extractor = HashCodeMessageExtractor.Create(MaxShards,
            message => message is ShardingEnvelope e ? e.EntityId : null,
            message => message is ShardingEnvelope e ? e.Message : message);
        // Workers' proxies have no singleton to find between runs: that is normal, not a warning.
        var singletonOptions = new ClusterSingletonOptions { Role = NodeRoles.Coordinator, LogSingletonIdentificationFailure = false };

        if (run.SnapshotDirectory is not null) builder.WithHospitalSnapshots(run.SnapshotDirectory, run.SnapshotStore);
        builder.WithCheckpointsIfAny(run);
        builder
            .AddHocon($"akka.cluster.split-brain-resolver.stable-after = {(int)node.StableAfter.TotalMilliseconds}ms", HoconAddMode.Prepend)
            .WithFedActorsDispatchers(run.TrainingThreads)
            .WithNodeTransport(node)
            .WithClustering(new ClusterOptions
            {
                Roles = (node.Name is null ? node.Roles : node.Roles.Append(NodeRoles.Named(node.Name))).ToArray(),
                SeedNodes = node.SeedNodes.ToArray(),
                SplitBrainResolver = node.SplitBrainStrategy switch
                {
                    "keep-oldest" => new KeepOldestOption { DownIfAlone = true },
                    _ => new KeepMajorityOption(),
                },
            });

        if (node.Admission is { } admission)
            builder.WithActors((system, _) => system.ActorOf(ClusterAdmission.Props(admission, ClusterAdmission.ExperimentFingerprint(run)), ClusterAdmission.Name));

        builder = node.IsWorker
            ? builder
                .WithActors((system, _) => system.ActorOf(
                    NodeFaultAgent.Props(crashNode is null ? NodeFaultAgent.KillThisProcess : () => crashNode(system),
                    run.Coordinator.Faults.WorkerCrashes, node.Name), NodeFaultAgent.Name))
                .WithDeviceSlots(run.Devices ?? new DeviceSlotsSettings { SlotsPerDevice = Math.Max(1, run.TrainingThreads) })
                .WithShardRegion<HospitalRegion>(HospitalRegionName,
                    (_, registry, _) =>
                    {
                        var deviceSlots = registry.Get<DeviceSlots>();
                        var transfer = registry.Get<WeightsTransfer>();
                        return id => hospitals.TryGetValue(id, out var definition)
                            ? HospitalActor.Props(definition, transfer, deviceSlots,
                                run.PassivateHospitals ? HospitalPassivation.BySharding : HospitalPassivation.Off)
                            : throw new ArgumentException($"No hospital '{id}' in this node's experiment; are all nodes running the same config?");
                    },
                    extractor,
                    new ShardOptions
                    {
                        Role = NodeRoles.Worker,
                        StateStoreMode = StateStoreMode.DData,
                        HandOffStopMessage = StopHospital.Instance,
                    })
            : builder.WithShardRegionProxy<HospitalRegion>(HospitalRegionName, NodeRoles.Worker, extractor);

        return node.IsCoordinator
            ? builder.WithSingleton<RoundCoordinator>(CoordinatorSingletonName,
                (system, registry, _) => RoundCoordinator.Props(run.Coordinator, new ShardedHospitals(registry.Get<HospitalRegion>(), ids),
                    run.InitialGlobal, registry.Get<WeightsTransfer>(), run.Evaluate, new ClusterWorkerNodes(system), createServer: run.CreateServer),
                singletonOptions, createProxyToo: true)
            : builder.WithSingletonProxy<RoundCoordinator>(CoordinatorSingletonName, singletonOptions);
    }
}
