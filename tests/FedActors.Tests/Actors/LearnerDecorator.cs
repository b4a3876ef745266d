using FedActors.Training.Data;
using FedActors.Training.Objectives;
using FedActors.Training.Weights;

namespace FedActors.Tests.Actors;

/// <summary>A learner that passes everything to <c>inner</c>: specs override the one call they watch or break.</summary>
internal abstract class LearnerDecorator(ILocalLearner inner) : ILocalLearner
{
    public virtual void LoadGlobal(ModelWeights global) => inner.LoadGlobal(global);
    public virtual LocalTrainingResult Train(ImageShard shard) => inner.Train(shard);
    public ModelWeights ExportWeights() => inner.ExportWeights();
    public LocalStateSummary DescribeState() => inner.DescribeState();
    public void SaveState(Stream stream) => inner.SaveState(stream);
    public void LoadState(Stream stream, string source) => inner.LoadState(stream, source);
    public void MoveTo(TorchSharp.torch.Device device) => inner.MoveTo(device);
    public virtual void Dispose() => inner.Dispose();
}
