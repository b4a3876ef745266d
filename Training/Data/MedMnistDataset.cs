namespace FedActors.Training.Data;

/// <summary>A MedMNIST .npz file's splits, by name.</summary>
public sealed class MedMnistDataset
{
    public MedMnistDataset(string file, IReadOnlyDictionary<string, MedMnistSplit> splits) => (File, Splits) = (file, splits);

    public string File { get; }
    public IReadOnlyDictionary<string, MedMnistSplit> Splits { get; }

    public MedMnistSplit this[string name] =>
        Splits.TryGetValue(name, out var split)
            ? split
            : throw new DataFormatException(File, $"split '{name}'",
                $"not in the file; expected entries {name}_images.npy and {name}_labels.npy, found splits {string.Join(", ", Splits.Keys.Order())}");
}
