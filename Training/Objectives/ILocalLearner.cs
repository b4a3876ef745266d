using FedActors.Training.Data;
using FedActors.Training.Weights;
using static TorchSharp.torch;

namespace FedActors.Training.Objectives;

/// <summary>What one local training pass did.</summary>
public sealed record LocalTrainingResult(double MeanLoss, int Steps, int Samples);

/// <summary>
/// A fingerprint of a client's persistent local state, so callers can check it survives
/// between rounds (and, later, moves between nodes) without touching tensors.
/// </summary>
public sealed record LocalStateSummary(
    long OptimizerSteps, long QueuePointer, string QueueChecksum, string OptimizerStateChecksum, ulong[] RngState);

/// <summary>
/// A client's side of a federated self-supervised method: receives the global weights,
/// trains on the local shard keeping its own state across rounds, exports its weights.
/// </summary>
public interface ILocalLearner : IDisposable
{
    void LoadGlobal(ModelWeights global);
    LocalTrainingResult Train(ImageShard shard);
    ModelWeights ExportWeights();
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
