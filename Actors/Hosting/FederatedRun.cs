using FedActors.Actors.Coordination;
using FedActors.Actors.Devices;
using FedActors.Actors.Faults;
using FedActors.Actors.Hospitals;
using FedActors.Training.Weights;

namespace FedActors.Actors.Hosting;

/// <summary>
/// Everything the actor system needs to run one federated experiment in-process.
/// <paramref name="Devices"/>: where hospitals train; null gives one CPU slot per training thread.
/// </summary>
public sealed record FederatedRun(
    CoordinatorSettings Coordinator,
    IReadOnlyList<HospitalDefinition> Hospitals,
    ModelWeights InitialGlobal,
    GlobalModelEvaluator? Evaluate = null,
    FaultPlan? Faults = null,
    int TrainingThreads = 1,
    DeviceSlotsSettings? Devices = null);
