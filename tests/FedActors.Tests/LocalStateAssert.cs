using FedActors.Training.Objectives;

namespace FedActors.Tests;

/// <summary>Compares state fingerprints field by field (the record's own Equals compares the RNG array by reference).</summary>
public static class LocalStateAssert
{
    public static void Same(LocalStateSummary expected, LocalStateSummary actual)
    {
        Assert.Equal(expected.OptimizerSteps, actual.OptimizerSteps);
        Assert.Equal(expected.QueuePointer, actual.QueuePointer);
        Assert.Equal(expected.QueueChecksum, actual.QueueChecksum);
        Assert.Equal(expected.OptimizerStateChecksum, actual.OptimizerStateChecksum);
        Assert.Equal(expected.RngState, actual.RngState);
    }
}
