using FedActors.Training.Data;
using FedActors.Training.Weights;
using static TorchSharp.torch;

namespace FedActors.Training.Objectives;

/// <summary>
/// A method's client rule around a local learner (FedEMA's blend, FedU's predictor choice, FCL's
/// feature exchange): everything passes to <see cref="Learner"/> unless the rule overrides it.
/// </summary>
/// <typeparam name="TLearner">The wrapped learner's type.</typeparam>
/// <param name="learner">The learner to wrap; the client owns and disposes it.</param>
public abstract class LearnerClient<TLearner>(TLearner learner) : ILocalLearner where TLearner : ILocalLearner
{
    /// <summary>The wrapped learner, owned by this client (disposed with it).</summary>
    public TLearner Learner => learner;

    /// <inheritdoc/>
    public virtual void LoadGlobal(ModelWeights global) => learner.LoadGlobal(global);
    /// <inheritdoc/>
    public virtual LocalTrainingResult Train(ImageShard shard) => learner.Train(shard);
    /// <inheritdoc/>
    public ModelWeights ExportWeights() => learner.ExportWeights();
    /// <inheritdoc/>
    public LocalStateSummary DescribeState() => learner.DescribeState();
    /// <inheritdoc/>
    public virtual void SaveState(Stream stream) => learner.SaveState(stream);
    /// <inheritdoc/>
    public virtual void LoadState(Stream stream, string source) => learner.LoadState(stream, source);
    /// <inheritdoc/>
    public void MoveTo(Device device) => learner.MoveTo(device);

    /// <summary>Disposes <see cref="Learner"/>.</summary>
    public void Dispose()
    {
        learner.Dispose();
        GC.SuppressFinalize(this);
    }
}
