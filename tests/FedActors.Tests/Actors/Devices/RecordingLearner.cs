using System.Collections.Concurrent;
using System.Diagnostics;
using FedActors.Training.Data;
using FedActors.Training.Objectives;
using FedActors.Training.Weights;
using static TorchSharp.torch;

namespace FedActors.Tests.Actors.Devices;

/// <summary>When and where one local training pass ran (Stopwatch timestamps).</summary>
public sealed record TrainingInterval(string HospitalId, long Start, long End, string? Device);

/// <summary>
/// Wraps a learner and records every training pass. <paramref name="pad"/> lengthens each
/// pass, so two passes that were allowed to run together would visibly overlap.
/// </summary>
public sealed class RecordingLearner(string hospitalId, ILocalLearner inner, ConcurrentQueue<TrainingInterval> log, TimeSpan pad) : ILocalLearner
{
    private string? _device;

    public LocalTrainingResult Train(ImageShard shard)
    {
        var start = Stopwatch.GetTimestamp();
#pragma warning disable RS0030 // TODO(waits): replaced by the waits rework
        Thread.Sleep(pad);
#pragma warning restore RS0030
        var result = inner.Train(shard);
        log.Enqueue(new TrainingInterval(hospitalId, start, Stopwatch.GetTimestamp(), _device));
        return result;
    }

    public void MoveTo(Device device)
    {
        _device = device.ToString();
        inner.MoveTo(device);
    }

    public void LoadGlobal(ModelWeights global) => inner.LoadGlobal(global);
    public ModelWeights ExportWeights() => inner.ExportWeights();
    public LocalStateSummary DescribeState() => inner.DescribeState();
    public void SaveState(Stream stream) => inner.SaveState(stream);
    public void LoadState(Stream stream, string source) => inner.LoadState(stream, source);
    public void Dispose() => inner.Dispose();
}
