using FedActors.Training.Data;
using FedActors.Training.Weights;
using static TorchSharp.torch;

namespace FedActors.Training.Objectives;

/// <summary>
/// A method's client rule around a local learner (FedEMA's blend, FedU's predictor choice, FCL's
/// feature exchange): everything passes to <see cref="Learner"/> unless the rule overrides it.
/// </summary>
public abstract class LearnerClient<TLearner>(TLearner learner) : ILocalLearner where TLearner : ILocalLearner
{
    public TLearner Learner => learner;

    public virtual void LoadGlobal(ModelWeights global) => learner.LoadGlobal(global);
    public virtual LocalTrainingResult Train(ImageShard shard) => learner.Train(shard);
    public ModelWeights ExportWeights() => learner.ExportWeights();
    public LocalStateSummary DescribeState() => learner.DescribeState();
    public virtual void SaveState(Stream stream) => learner.SaveState(stream);
    public virtual void LoadState(Stream stream, string source) => learner.LoadState(stream, source);
    public void MoveTo(Device device) => learner.MoveTo(device);

    public void Dispose()
    {
        learner.Dispose();
        GC.SuppressFinalize(this);
    }
}
