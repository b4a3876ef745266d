namespace FedActors.Tests;

/// <summary>
/// Specs that collect garbage in a tight loop to provoke TorchSharp's finaliser race (a Scalar freed while libtorch
/// reads it). The collector is process-wide: beside other specs it would provoke the same race in their TorchSharp
/// calls (a MoCo spec failed with c10's "Expected false to be true", and a test host crashed), so these run alone,
/// after every parallel collection.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class GarbageCollectorStress
{
    public const string Name = "garbage-collector stress";
}
