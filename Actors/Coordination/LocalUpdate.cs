using Akka.Actor;
using FedActors.Training.Methods;
using FedActors.Training.Weights;

namespace FedActors.Actors.Coordination;

/// <summary>
/// One hospital's answer for a round with its weights resolved: what the coordinator judges and aggregates once it has
/// fetched the weights a <see cref="Protocol.LocalUpdateByRef"/> refers to (in one process, the very object the hospital
/// offered). Local data, never sent between nodes: there an upload always travels by reference (exempt from
/// serialisation checks, so a local observer may still be told one).
/// </summary>
/// <param name="Round">The round it answers.</param>
/// <param name="HospitalId">The hospital that trained it.</param>
/// <param name="Weights">The trained weights.</param>
/// <param name="Samples">Samples the hospital trained on (its weight in the average).</param>
/// <param name="MeanLoss">The local objective's mean loss over the round.</param>
/// <param name="Steps">Optimiser steps taken.</param>
/// <param name="ComputeSeconds">Measured compute time (the simulated clock scales it).</param>
/// <param name="Extras">What the method uploads beside the weights (null: nothing).</param>
public sealed record LocalUpdate(
    int Round,
    string HospitalId,
    ModelWeights Weights,
    int Samples,
    double MeanLoss,
    int Steps,
    double ComputeSeconds,
    MethodPayloads? Extras = null) : INoSerializationVerificationNeeded
{
    /// <summary>The token of the request it answers, echoed in the hospital's <see cref="Protocol.LocalUpdateByRef"/>.</summary>
    public ulong RequestToken { get; init; }
}
