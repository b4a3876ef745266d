using FedActors.Training.Data;
using FedActors.Training.Weights;
using static TorchSharp.torch;

namespace FedActors.Training.Objectives;

/// <summary>What one local training pass did.</summary>
/// <param name="MeanLoss">Mean training loss over the pass's optimiser steps; NaN when no step was taken.</param>
/// <param name="Steps">Optimiser steps taken in the pass.</param>
/// <param name="Samples">Images the pass drew its batches from (the hospital's sample count for weighting).</param>
public sealed record LocalTrainingResult(double MeanLoss, int Steps, int Samples);

/// <summary>
/// A fingerprint of a client's persistent local state, so callers can check it survives
/// between rounds (and, later, moves between nodes) without touching tensors.
/// </summary>
/// <param name="OptimizerSteps">Optimiser steps taken since the learner was created (or its state restored).</param>
/// <param name="QueuePointer">Next write position of a MoCo negative queue; 0 for learners without one.</param>
/// <param name="QueueChecksum">SHA-256 (hex) of the negative queue's values; empty for learners without one.</param>
/// <param name="OptimizerStateChecksum">SHA-256 (hex) of the serialised optimiser state.</param>
/// <param name="RngState">The learner's <see cref="Randomness.SeededRandom.State"/> words.</param>
public sealed record LocalStateSummary(
    long OptimizerSteps, long QueuePointer, string QueueChecksum, string OptimizerStateChecksum, ulong[] RngState);

/// <summary>
/// A client's side of a federated self-supervised method: receives the global weights,
/// trains on the local shard keeping its own state across rounds, exports its weights.
/// </summary>
public interface ILocalLearner : IDisposable
{
    /// <summary>Overwrites the local network with the round's global weights; local-only state (optimiser, queues, RNG) is kept.</summary>
    /// <param name="global">The broadcast weights; names and shapes must fit the local network.</param>
    void LoadGlobal(ModelWeights global);

    /// <summary>One round of local training on <paramref name="shard"/>, continuing the learner's own state.</summary>
    /// <param name="shard">The hospital's training images.</param>
    LocalTrainingResult Train(ImageShard shard);

    /// <summary>A copy of the weights the learner uploads (its network's state as it is now).</summary>
    ModelWeights ExportWeights();

    /// <summary>A fingerprint of the persistent local state, for checking that it survives between rounds.</summary>
    LocalStateSummary DescribeState();

    /// <summary>
    /// Writes the complete local state (everything that shapes later rounds) in a versioned,
    /// hash-checked format, so a restarted or moved hospital continues exactly.
    /// </summary>
    void SaveState(Stream stream);

    /// <summary>
    /// Restores state written by <see cref="SaveState"/> of a learner built the same way.
    /// Throws <see cref="InvalidDataException"/> naming <paramref name="source"/> and the field
    /// on corruption, truncation or a name/shape mismatch; after a failed load, discard the learner.
    /// </summary>
    void LoadState(Stream stream, string source);

    /// <summary>
    /// Moves every tensor of the local state (networks, optimiser state, queues) to
    /// <paramref name="device"/>, keeping its values; training then runs there. A no-op
    /// when already there.
    /// </summary>
    void MoveTo(Device device);
}
