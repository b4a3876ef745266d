using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace FedActors.Training.Evaluation;

/// <summary>
/// Weighted k-nearest-neighbour classification on L2-normalised features (the InstDisc /
/// MoCo monitor): each of the k most cosine-similar labelled samples votes exp(s/τ).
/// </summary>
public static class KnnClassifier
{
    public static long[] Predict(Tensor labelledFeatures, IReadOnlyList<int> labels, Tensor queryFeatures, int classes,
        int k = 20, double temperature = 0.07, int chunk = 512)
    {
        if (labelledFeatures.shape[0] != labels.Count)
            throw new ArgumentException($"{labelledFeatures.shape[0]} labelled features for {labels.Count} labels.");
        if (k < 1) throw new ArgumentOutOfRangeException(nameof(k), k, "at least one neighbour");
        using var scope = NewDisposeScope();
        var bank = F.normalize(labelledFeatures, p: 2, dim: 1);
        var bankLabels = tensor(labels.Select(l => (long)l).ToArray(), device: bank.device);
        var kk = (int)Math.Min(k, bank.shape[0]);
        var predictions = new List<long>();
        for (long start = 0; start < queryFeatures.shape[0]; start += chunk)
        {
            using var step = NewDisposeScope();
            var q = F.normalize(queryFeatures.narrow(0, start, Math.Min(chunk, queryFeatures.shape[0] - start)), p: 2, dim: 1);
            var (sim, idx) = q.matmul(bank.t()).topk(kk, dim: 1);
            var votes = zeros(q.shape[0], classes, device: q.device)
                .scatter_add_(1, bankLabels[idx], (sim / temperature).exp());
            predictions.AddRange(votes.argmax(1).cpu().data<long>().ToArray());
        }
        return predictions.ToArray();
    }

    public static double Accuracy(Tensor labelledFeatures, IReadOnlyList<int> labels, Tensor queryFeatures, IReadOnlyList<int> queryLabels,
        int classes, int k = 20, double temperature = 0.07) =>
        ClassificationMetrics.Accuracy(Predict(labelledFeatures, labels, queryFeatures, classes, k, temperature), queryLabels);
}
