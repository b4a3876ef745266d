using FedActors.Training.Data;
using FedActors.Training.Models;
using FedActors.Training.Weights;
using TorchSharp;
using static TorchSharp.torch;

namespace FedActors.Training.Evaluation;

/// <summary>One round's global classifier on the validation and test images.</summary>
/// <param name="Round">The federated round whose global model was scored.</param>
/// <param name="ValidationBalancedAccuracy">Balanced accuracy on the validation split (NaN if it is empty).</param>
/// <param name="TestBalancedAccuracy">Balanced accuracy on the pooled test split.</param>
/// <param name="TestAccuracy">Plain accuracy on the pooled test split.</param>
public sealed record ClassifierRound(int Round, double ValidationBalancedAccuracy, double TestBalancedAccuracy, double TestAccuracy);

/// <summary>
/// A federated classifier judged the way ALGORITHMS.md §4 asks: every round's global model scored, the round
/// chosen on validation balanced accuracy (the earliest of ties; never on the test split), and that round's
/// test figures, overall and per hospital (NaN for a hospital without test images).
/// </summary>
/// <param name="Rounds">Every scored round, in the order the globals were given.</param>
/// <param name="Chosen">The round selected on validation balanced accuracy.</param>
/// <param name="SiteBalancedAccuracy">The chosen round's balanced accuracy on each hospital's own test images, by hospital id.</param>
public sealed record ClassifierEvaluation(IReadOnlyList<ClassifierRound> Rounds, ClassifierRound Chosen, IReadOnlyDictionary<string, double> SiteBalancedAccuracy)
{
    /// <summary>The protocol name written in the evaluation CSV's <c>protocol</c> column for this evaluation.</summary>
    public const string Protocol = "global-classifier";

    /// <summary>
    /// The majority-class baseline on the same test images: always predicting the training images' most frequent class
    /// (<see cref="ModelSelection.MajorityClassRate"/>), its accuracy and balanced accuracy on the pooled test split and its
    /// balanced accuracy on each hospital's own (NaN for a hospital without test images); null where not computed.
    /// </summary>
    public (double Accuracy, double BalancedAccuracy, IReadOnlyDictionary<string, double> SiteBalancedAccuracy)? Majority { get; init; }

    /// <summary>The majority-class baseline of <paramref name="trainingLabels"/> on <paramref name="test"/> and each site's test images, as <see cref="Majority"/> holds it.</summary>
    /// <param name="trainingLabels">The labels the majority class is taken from (the hospitals' pooled training images).</param>
    /// <param name="test">The pooled test split.</param>
    /// <param name="sites">Each hospital's own test images.</param>
    public static (double Accuracy, double BalancedAccuracy, IReadOnlyDictionary<string, double> SiteBalancedAccuracy) MajorityBaseline(
        IReadOnlyList<int> trainingLabels, ImageShard test, IReadOnlyList<(string HospitalId, ImageShard Test)> sites)
    {
        var pooled = ModelSelection.MajorityClassRate(trainingLabels, test.Labels);
        return (pooled.Accuracy, pooled.BalancedAccuracy, sites.ToDictionary(s => s.HospitalId,
            s => s.Test.Count == 0 ? double.NaN : ModelSelection.MajorityClassRate(trainingLabels, s.Test.Labels).BalancedAccuracy, StringComparer.Ordinal));
    }

    /// <summary>Scores every round's global classifier and picks the round to report, as the type describes.</summary>
    /// <param name="create">Builds an untrained classifier of the globals' architecture; the instance is disposed before returning.</param>
    /// <param name="globals">Each round's global weights; at least one.</param>
    /// <param name="validation">The split the round is chosen on.</param>
    /// <param name="test">The pooled test split.</param>
    /// <param name="sites">Each hospital's own test images, for the per-hospital figures.</param>
    /// <param name="classes">Number of classes; labels lie in [0, <paramref name="classes"/>).</param>
    /// <param name="device">Device the model runs on.</param>
    /// <exception cref="ArgumentException"><paramref name="globals"/> is empty.</exception>
    public static ClassifierEvaluation Evaluate(Func<FedMasModel> create, IReadOnlyList<(int Round, ModelWeights Global)> globals, ImageShard validation,
        ImageShard test, IReadOnlyList<(string HospitalId, ImageShard Test)> sites, int classes, Device device)
    {
        if (globals.Count == 0) throw new ArgumentException("No global model to evaluate.", nameof(globals));
        // Every tensor is overwritten by each global below; seeded only so its draws take the lock.
        using var model = TorchRuntime.Seeded(0, create);
        model.to(device);
        model.eval();
        double Balanced(ImageShard shard) => shard.Count == 0 ? double.NaN : ClassificationMetrics.BalancedAccuracy(Predict(model, shard, device), shard.Labels, classes);
        var rounds = new List<ClassifierRound>();
        foreach (var (round, global) in globals)
        {
            global.LoadInto(model);
            var predicted = Predict(model, test, device);
            rounds.Add(new ClassifierRound(round, Balanced(validation),
                ClassificationMetrics.BalancedAccuracy(predicted, test.Labels, classes), ClassificationMetrics.Accuracy(predicted, test.Labels)));
        }
        var chosen = rounds.OrderByDescending(r => r.ValidationBalancedAccuracy).ThenBy(r => r.Round).First();
        globals.First(g => g.Round == chosen.Round).Global.LoadInto(model);
        var perSite = sites.ToDictionary(s => s.HospitalId, s => Balanced(s.Test), StringComparer.Ordinal);
        return new ClassifierEvaluation(rounds, chosen, perSite);
    }

    /// <summary>The arg-max class of each image, in batches, without gradient.</summary>
    public static long[] Predict(nn.Module<Tensor, Tensor> model, ImageShard shard, Device device, int batchSize = 256)
    {
        var predicted = new long[shard.Count];
        using var _ = no_grad();
        for (var start = 0; start < shard.Count; start += batchSize)
        {
            using var scope = NewDisposeScope();
            var indices = Enumerable.Range(start, Math.Min(batchSize, shard.Count - start)).ToArray();
            model.forward(shard.Images(indices, device)).argmax(1).cpu().data<long>().CopyTo(predicted, start);
        }
        return predicted;
    }
}
