using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace FedActors.Training.Evaluation;

/// <summary>
/// Weighted k-nearest-neighbour classification on L2-normalised features (the InstDisc /
/// MoCo monitor): each of the k most cosine-similar labelled samples votes exp(s/τ).
/// </summary>
public static class KnnClassifier
{
    /// <summary>The predicted class of each query: the class with the largest summed vote of its k nearest labelled samples.</summary>
    /// <param name="labelledFeatures">[N, D] features of the labelled bank; normalised here, not modified.</param>
    /// <param name="labels">Class of each bank sample; N of them.</param>
    /// <param name="queryFeatures">[M, D] features to classify, on the bank's device; normalised here, not modified.</param>
    /// <param name="classes">Number of classes; labels lie in [0, <paramref name="classes"/>).</param>
    /// <param name="k">Neighbours that vote (at most N are used); at least 1.</param>
    /// <param name="temperature">τ of the exp(s/τ) vote weight; smaller favours the closest neighbours.</param>
    /// <param name="chunk">Queries scored at once (bounds the [chunk, N] similarity matrix's memory).</param>
    /// <exception cref="ArgumentException">The bank and its labels differ in count.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="k"/> is below 1.</exception>
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

    /// <summary>Fraction of queries whose <see cref="Predict"/> class equals <paramref name="queryLabels"/>.</summary>
    /// <param name="labelledFeatures">[N, D] features of the labelled bank.</param>
    /// <param name="labels">Class of each bank sample.</param>
    /// <param name="queryFeatures">[M, D] features to classify.</param>
    /// <param name="queryLabels">True class of each query; M of them.</param>
    /// <param name="classes">Number of classes.</param>
    /// <param name="k">Neighbours that vote; at least 1.</param>
    /// <param name="temperature">τ of the exp(s/τ) vote weight.</param>
    public static double Accuracy(Tensor labelledFeatures, IReadOnlyList<int> labels, Tensor queryFeatures, IReadOnlyList<int> queryLabels,
        int classes, int k = 20, double temperature = 0.07) =>
        ClassificationMetrics.Accuracy(Predict(labelledFeatures, labels, queryFeatures, classes, k, temperature), queryLabels);
}
