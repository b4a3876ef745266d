using FedActors.Training.Data;
using FedActors.Training.Experiments;
using FedActors.Training.Methods;
using FedActors.Training.Objectives;
using FedActors.Training.Weights;
using static TorchSharp.torch;

namespace FedActors.Tests.Methods;

/// <summary>
/// The federated mean of one vector, a method defined and registered here, outside the project: each hospital's
/// model is one float vector, the length of an image; a client moves the global a <see cref="Step"/> towards its
/// shard's mean image, θ_i = θ_g + step·(m_i − θ_g), and the server takes the sample-weighted mean (FedAvg). With
/// step s, from θ = 0, R rounds in which every hospital takes part end at (1 − (1 − s)^R)·m̄, m̄ the sample-weighted
/// mean of the m_i. No network, so nothing to judge.
/// </summary>
public sealed class VectorMeanMethod(FederatedExperiment experiment, double step) : IFederatedMethod
{
    public const string MethodName = "spec-vector-mean";

    /// <summary>The model's one tensor.</summary>
    public const string Tensor = "mean";

    /// <summary>s: how far a client moves the global towards its own mean image.</summary>
    public static readonly NumberKey Step = new("spec-vector-mean.step", 1, 0, 1, "how far a client moves the global towards its shard's mean image");

    public static MethodRegistration Registration { get; } = new(MethodName, "the federated mean of one vector (a spec's method)",
        (experiment, settings) => new VectorMeanMethod(experiment, settings.Get(Step)))
    {
        Keys = [Step],
        Evaluations = MethodEvaluations.None,
    };

    public string Name => MethodName;

    public ILocalLearner CreateClient(string hospitalId) => new Client(step);

    public IFederatedServer CreateServer() => new FederatedAveragingServer(MethodName);

    public ModelWeights InitialGlobal() => Vector(new double[experiment.Sites.Sites[0].Train.PixelsPerImage]);

    /// <summary>Each pixel's mean over the shard's images, in its stored 0–255 scale.</summary>
    public static double[] MeanImage(ImageShard shard)
    {
        var mean = new double[shard.PixelsPerImage];
        for (var i = 0; i < shard.Pixels.Length; i++) mean[i % mean.Length] += shard.Pixels[i];
        return [.. mean.Select(v => v / shard.Count)];
    }

    private static ModelWeights Vector(double[] values) => new([new WeightTensor(Tensor, [values.Length], [.. values.Select(v => (float)v)])]);

    private sealed class Client(double step) : ILocalLearner
    {
        private ModelWeights? _global, _trained;

        public void LoadGlobal(ModelWeights global) => (_global, _trained) = (global, null);

        public LocalTrainingResult Train(ImageShard shard)
        {
            var global = (_global ?? throw new InvalidOperationException("No global model loaded yet."))[Tensor].Values;
            _trained = Vector([.. MeanImage(shard).Select((m, k) => global[k] + step * (m - global[k]))]);
            return new LocalTrainingResult(0, 1, shard.Count);
        }

        public ModelWeights ExportWeights() => _trained ?? _global ?? throw new InvalidOperationException("No global model loaded yet.");
        public LocalStateSummary DescribeState() => new(0, 0, "", "", [0, 0, 0, 0]);
        public void SaveState(Stream stream) => LearnerStateFormat.Write(stream, MethodName, _ => { });
        public void LoadState(Stream stream, string source) => LearnerStateFormat.Read(stream, source, MethodName, _ => { });
        public void MoveTo(Device device) { }
        public void Dispose() { }
    }
}
