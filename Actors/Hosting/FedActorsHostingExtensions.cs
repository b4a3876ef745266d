using Akka.Actor;
using Akka.Hosting;
using FedActors.Actors.Coordination;
using FedActors.Actors.Devices;
using FedActors.Actors.Hospitals;
using FedActors.Actors.Serialization;
using FedActors.Actors.Transfer;

namespace FedActors.Actors.Hosting;

/// <summary>Akka.Hosting wiring for FedActors.</summary>
public static class FedActorsHostingExtensions
{
    /// <summary>Adds the training and coordinator dispatchers.</summary>
    public static AkkaConfigurationBuilder WithFedActorsDispatchers(this AkkaConfigurationBuilder builder, int trainingThreads) =>
        builder.AddHocon(Dispatchers.Hocon(trainingThreads), HoconAddMode.Prepend);

    /// <summary>Routes every protocol message through <see cref="FedActorsSerializer"/>.</summary>
    public static AkkaConfigurationBuilder WithFedActorsSerialization(this AkkaConfigurationBuilder builder) =>
        builder.AddHocon(FedActorsSerializer.Hocon, HoconAddMode.Prepend);

    /// <summary>
    /// Hospitals snapshot their local state after every round into <paramref name="snapshotDirectory"/>
    /// and restore it when started again (see <see cref="HospitalPersistence"/>).
    /// </summary>
    /// <param name="builder">The system's Akka.Hosting builder.</param>
    /// <param name="snapshotDirectory">The file store's directory; unused when <paramref name="store"/> is a database.</param>
    /// <param name="store">Where snapshots go: null or <see cref="SnapshotStoreSettings.File"/> for the directory, else a database.</param>
    public static AkkaConfigurationBuilder WithHospitalSnapshots(this AkkaConfigurationBuilder builder, string snapshotDirectory, SnapshotStoreSettings? store = null) =>
        builder.AddHocon(HospitalPersistence.Hocon(snapshotDirectory, store), HoconAddMode.Prepend);

    /// <summary>
    /// The coordinator snapshots its round state after every round into <paramref name="snapshotDirectory"/>
    /// and, started again (restart, singleton move, <c>fedactors run --resume</c>), continues from there.
    /// </summary>
    /// <param name="builder">The system's Akka.Hosting builder.</param>
    /// <param name="snapshotDirectory">The file store's directory; unused when <paramref name="store"/> is a database.</param>
    /// <param name="store">Where snapshots go: null or <see cref="SnapshotStoreSettings.File"/> for the directory, else a database.</param>
    public static AkkaConfigurationBuilder WithCoordinatorCheckpoints(this AkkaConfigurationBuilder builder, string snapshotDirectory, SnapshotStoreSettings? store = null) =>
        builder.AddHocon(CoordinatorPersistence.Hocon(snapshotDirectory, store), HoconAddMode.Prepend);

    /// <summary>
    /// Starts this node's <see cref="WeightsTransfer"/>, registered in the <see cref="ActorRegistry"/> under its type. Every run
    /// has one: weights always travel by reference. Without <see cref="WeightsTransferSettings.BulkHost"/> it keeps offered
    /// weights in memory only (no TCP side channel), which is all one process needs: a fetch of its own offer returns the
    /// offered object itself, neither copied nor serialised.
    /// </summary>
    public static AkkaConfigurationBuilder WithWeightsTransfer(this AkkaConfigurationBuilder builder, WeightsTransferSettings? settings = null) =>
        builder.WithActors((system, registry) =>
            registry.Register<WeightsTransfer>(system.ActorOf(WeightsTransfer.Props(settings), "weights-transfer")));

    /// <summary>
    /// Starts this node's <see cref="DeviceSlots"/> (one per actor system), registered in the
    /// <see cref="ActorRegistry"/> under its type. A bad device list fails at startup.
    /// </summary>
    public static AkkaConfigurationBuilder WithDeviceSlots(this AkkaConfigurationBuilder builder, DeviceSlotsSettings settings) =>
        builder.WithActors((system, registry) =>
            registry.Register<DeviceSlots>(system.ActorOf(DeviceSlots.Props(settings), "device-slots")));

    /// <summary>
    /// Starts this node's <see cref="DeviceSlots"/>, its in-memory <see cref="WeightsTransfer"/> (the one store through which
    /// the global and the uploads travel by reference), one hospital actor per definition, leasing
    /// from the slots, and the round coordinator (registered in the <see cref="ActorRegistry"/> under
    /// <see cref="RoundCoordinator"/>); send it <c>StartRun</c> to begin. Hospitals snapshot into
    /// <see cref="FederatedRun.SnapshotDirectory"/> when it is set.
    /// </summary>
    public static AkkaConfigurationBuilder WithFederatedRun(this AkkaConfigurationBuilder builder, FederatedRun run) =>
        (run.SnapshotDirectory is null ? builder : builder.WithHospitalSnapshots(run.SnapshotDirectory, run.SnapshotStore))
            .WithCheckpointsIfAny(run)
            .WithFedActorsDispatchers(run.TrainingThreads)
            .WithFedActorsSerialization()
            // Without a device list: one CPU slot per training thread, as many hospitals at once as before leases.
            .WithDeviceSlots(run.Devices ?? new DeviceSlotsSettings { SlotsPerDevice = Math.Max(1, run.TrainingThreads) })
            .WithWeightsTransfer()
            .WithActors((system, registry) =>
            {
                var deviceSlots = registry.Get<DeviceSlots>();
                var transfer = registry.Get<WeightsTransfer>();
                IHospitalDirectory hospitals;
                if (run.PassivateHospitals)
                {
                    var host = system.ActorOf(HospitalHost.Props(run.Hospitals, transfer, deviceSlots), "hospitals");
                    // Registered so the run's driver can report how often hospitals were passivated.
                    registry.Register<HospitalHost>(host);
                    hospitals = new HostedHospitals(host, run.Hospitals.Select(h => h.HospitalId).ToList());
                }
                else hospitals = new LocalHospitals(run.Hospitals.ToDictionary(h => h.HospitalId, h => system.ActorOf(HospitalActor.Props(h, transfer, deviceSlots), h.HospitalId)));
                var coordinator = system.ActorOf(
                    RoundCoordinator.Props(run.Coordinator, hospitals, run.InitialGlobal, transfer, run.Evaluate, createServer: run.CreateServer), "coordinator");
                registry.Register<RoundCoordinator>(coordinator);
            });

    internal static AkkaConfigurationBuilder WithCheckpointsIfAny(this AkkaConfigurationBuilder builder, FederatedRun run)
    {
        if (!run.CheckpointRounds) return builder;
        return run.SnapshotDirectory is null
            ? throw new ArgumentException("Checkpointing rounds needs the run's snapshot directory.", nameof(run))
            : builder.WithCoordinatorCheckpoints(run.SnapshotDirectory, run.SnapshotStore);
    }
}
