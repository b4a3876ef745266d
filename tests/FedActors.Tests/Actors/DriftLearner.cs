using System.Security.Cryptography;
using FedActors.Actors.Hospitals;
using FedActors.Training.Data;
using FedActors.Training.Objectives;
using FedActors.Training.Randomness;
using FedActors.Training.Weights;
using TorchSharp;

namespace FedActors.Tests.Actors;

/// <summary>
/// A cheap, deterministic local learner for specs about round mechanics with many hospitals:
/// each step pulls its weights towards a hospital-specific target plus seeded noise, one step
/// per 8 samples. Its whole state (weights, step count, generator) is saved and restored, so it
/// behaves like a real learner across snapshots, in microseconds instead of seconds.
/// </summary>
public sealed class DriftLearner : ILocalLearner
{
    public const int Size = 12;
    private readonly float[] _target;
    private float[] _weights = new float[Size];
    private SeededRandom _rng;
    private long _steps;

    public DriftLearner(ulong seed, string hospitalId)
    {
        var targetRng = SeededRandom.Derive(seed, $"{hospitalId}/target");
        _target = Enumerable.Range(0, Size).Select(_ => (float)targetRng.NextGaussian()).ToArray();
        _rng = SeededRandom.Derive(seed, $"{hospitalId}/noise");
    }

    public static ModelWeights InitialGlobal() => new([new WeightTensor("w", [3, 4], new float[Size])]);

    /// <summary><paramref name="count"/> hospitals, hospital i holding 8 + i samples (so sample weights differ).</summary>
    public static List<HospitalDefinition> Hospitals(int count, ulong seed = 7) =>
        Enumerable.Range(0, count).Select(i =>
        {
            var id = $"hospital-{i:D3}";
            var samples = 8 + i;
            var shard = new ImageShard(1, 1, new byte[samples], new int[samples]);
            return new HospitalDefinition(id, () => shard, () => new DriftLearner(seed, id));
        }).ToList();

    public void LoadGlobal(ModelWeights global) => _weights = global["w"].Values.ToArray();

    public LocalTrainingResult Train(ImageShard shard)
    {
        var steps = Math.Max(1, shard.Count / 8);
        double loss = 0;
        for (var s = 0; s < steps; s++)
        {
            for (var k = 0; k < Size; k++)
            {
                var error = _target[k] - _weights[k];
                loss += error * error / Size;
                _weights[k] += 0.3f * error + 0.01f * (float)_rng.NextGaussian();
            }
            _steps++;
        }
        return new LocalTrainingResult(loss / steps, steps, shard.Count);
    }

    public ModelWeights ExportWeights() => new([new WeightTensor("w", [3, 4], _weights.ToArray())]);

    public LocalStateSummary DescribeState() =>
        new(_steps, 0, "", Convert.ToHexString(SHA256.HashData(System.Runtime.InteropServices.MemoryMarshal.AsBytes(_weights.AsSpan()))), _rng.State);

    public void SaveState(Stream stream)
    {
        using var w = new BinaryWriter(stream, System.Text.Encoding.UTF8, leaveOpen: true);
        w.Write(_steps);
        foreach (var v in _weights) w.Write(v);
        foreach (var s in _rng.State) w.Write(s);
    }

    public void LoadState(Stream stream, string source)
    {
        using var r = new BinaryReader(stream, System.Text.Encoding.UTF8, leaveOpen: true);
        _steps = r.ReadInt64();
        _weights = Enumerable.Range(0, Size).Select(_ => r.ReadSingle()).ToArray();
        _rng = SeededRandom.FromState(Enumerable.Range(0, 4).Select(_ => r.ReadUInt64()).ToArray());
    }

    public void MoveTo(torch.Device device) { }

    public void Dispose() { }
}
