namespace FedActors.Training.Data;

/// <summary>A MedMNIST .npz file's splits, by name.</summary>
public sealed class MedMnistDataset
{
    /// <summary>Creates a dataset from its already-read splits.</summary>
    /// <param name="file">Path of the .npz file, used in error messages.</param>
    /// <param name="splits">The splits, keyed by name (train, val, test, ...).</param>
    public MedMnistDataset(string file, IReadOnlyDictionary<string, MedMnistSplit> splits) => (File, Splits) = (file, splits);

    /// <summary>Path of the .npz file the splits were read from.</summary>
    public string File { get; }
    /// <summary>Every split found in the file, keyed by name (the <c>name</c> of <c>name_images.npy</c>/<c>name_labels.npy</c>).</summary>
    public IReadOnlyDictionary<string, MedMnistSplit> Splits { get; }

    /// <summary>The split called <paramref name="name"/>.</summary>
    /// <param name="name">Split name, for example <c>train</c>, <c>val</c> or <c>test</c>.</param>
    /// <exception cref="DataFormatException">The file has no such split; the message lists those it has.</exception>
    public MedMnistSplit this[string name] =>
        Splits.TryGetValue(name, out var split)
            ? split
            : throw new DataFormatException(File, $"split '{name}'",
                $"not in the file; expected entries {name}_images.npy and {name}_labels.npy, found splits {string.Join(", ", Splits.Keys.Order())}");
}
