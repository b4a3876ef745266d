namespace FedActors.Training.Data;

/// <summary>
/// One split (train, val, test or any other name the file holds) of a MedMNIST set:
/// 2D images as an <see cref="ImageShard"/> or 3D volumes as a <see cref="VolumeSet"/>,
/// exactly one of the two.
/// </summary>
public sealed class MedMnistSplit
{
    public MedMnistSplit(string name, ImageShard images) => (Name, Images) = (name, images);

    public MedMnistSplit(string name, VolumeSet volumes) => (Name, Volumes) = (name, volumes);

    public string Name { get; }
    public ImageShard? Images { get; }
    public VolumeSet? Volumes { get; }
    public bool IsVolumetric => Volumes is not null;
    public int[] Labels => Images?.Labels ?? Volumes!.Labels;
    public int Count => Labels.Length;

    /// <summary>The 2D images; a 3D split has none to give.</summary>
    public ImageShard ToShard() =>
        Images ?? throw new InvalidOperationException(
            $"Split '{Name}' holds {Volumes!.Depth}x{Volumes.Height}x{Volumes.Width} volumes, not 2D images; use Volumes.");
}
