using System.Collections.Concurrent;
using FedActors.Training.Data;
using FedActors.Training.Objectives;
using FedActors.Training.Weights;
using static TorchSharp.torch;

namespace FedActors.Tests.Actors.Devices;

/// <summary>One local training pass that began: whose, and on which device.</summary>
public sealed record TrainingPass(string HospitalId, string? Device);

/// <summary>
/// Where the training passes of <see cref="GatedLearner"/>s begin: each announces itself, then (unless the gate is
/// open) waits on its training thread until the spec lets one pass through. A spec so sees who trains while whom
/// waits, in order, without timing anything; and it counts how many passes ever ran at once.
/// </summary>
public sealed class TrainingGate : IDisposable
{
    private static readonly TimeSpan HeldAtMost = TimeSpan.FromMinutes(1);
    private readonly BlockingCollection<TrainingPass> _begun = new();
    private readonly SemaphoreSlim _through = new(0);
    private int _training;
    private int _mostAtOnce;
    private int _count;
    private volatile bool _open;

    /// <summary>Passes that have begun so far.</summary>
    public int Begun => Volatile.Read(ref _count);

    /// <summary>The most passes that were ever training at the same time.</summary>
    public int MostAtOnce => Volatile.Read(ref _mostAtOnce);

    /// <summary>From now on passes go through without waiting.</summary>
    public void Open()
    {
        _open = true;
        _through.Release(int.MaxValue / 2);
    }

    /// <summary>Lets one waiting (or the next) pass through.</summary>
    public void LetOneThrough() => _through.Release();

    /// <summary>The next pass to begin, in the order they began; fails naming <paramref name="what"/> if none begins within <paramref name="bound"/> (dilated).</summary>
    public TrainingPass Next(TimeSpan bound, string what) =>
        _begun.TryTake(out var pass, TestTime.Dilated(bound)) ? pass : throw new TimeoutException($"{what}: no training pass began within {TestTime.Dilated(bound)}");

    internal void Enter(TrainingPass pass)
    {
        var now = Interlocked.Increment(ref _training);
        for (var most = Volatile.Read(ref _mostAtOnce); now > most; most = Volatile.Read(ref _mostAtOnce))
            if (Interlocked.CompareExchange(ref _mostAtOnce, now, most) == most) break;
        Interlocked.Increment(ref _count);
        _begun.Add(pass);
        if (!_open && !_through.Wait(TestTime.Dilated(HeldAtMost)))
            throw new TimeoutException($"{pass.HospitalId}'s training pass was never let through");
    }

    internal void Exit() => Interlocked.Decrement(ref _training);

    /// <summary>Opens the gate: a spec that failed early leaves no training thread waiting.</summary>
    public void Dispose() => Open();
}

/// <summary>Wraps a learner: every training pass goes through <paramref name="gate"/>.</summary>
public sealed class GatedLearner(string hospitalId, ILocalLearner inner, TrainingGate gate) : ILocalLearner
{
    private string? _device;

    public LocalTrainingResult Train(ImageShard shard)
    {
        gate.Enter(new TrainingPass(hospitalId, _device));
        try { return inner.Train(shard); }
        finally { gate.Exit(); }
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
