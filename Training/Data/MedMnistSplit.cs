namespace FedActors.Training.Data;

/// <summary>
/// One split (train, val, test or any other name the file holds) of a MedMNIST set:
/// 2D images as an <see cref="ImageShard"/> or 3D volumes as a <see cref="VolumeSet"/>,
/// exactly one of the two.
/// </summary>
public sealed class MedMnistSplit
{
    /// <summary>Creates a 2D split.</summary>
    /// <param name="name">Split name (train, val, test, ...).</param>
    /// <param name="images">The split's images and labels.</param>
    public MedMnistSplit(string name, ImageShard images) => (Name, Images) = (name, images);

    /// <summary>Creates a 3D split.</summary>
    /// <param name="name">Split name (train, val, test, ...).</param>
    /// <param name="volumes">The split's volumes and labels.</param>
    public MedMnistSplit(string name, VolumeSet volumes) => (Name, Volumes) = (name, volumes);

    /// <summary>Split name, as in the file's <c>name_images.npy</c> entry.</summary>
    public string Name { get; }
    /// <summary>The 2D images, or <see langword="null"/> for a 3D split.</summary>
    public ImageShard? Images { get; }
    /// <summary>The 3D volumes, or <see langword="null"/> for a 2D split.</summary>
    public VolumeSet? Volumes { get; }
    /// <summary><see langword="true"/> when the split holds 3D volumes rather than 2D images.</summary>
    public bool IsVolumetric => Volumes is not null;
    /// <summary>Class index of each image or volume, in file order.</summary>
    public int[] Labels => Images?.Labels ?? Volumes!.Labels;
    /// <summary>Number of images or volumes in the split.</summary>
    public int Count => Labels.Length;

    /// <summary>The 2D images; a 3D split has none to give.</summary>
    public ImageShard ToShard() =>
        Images ?? throw new InvalidOperationException(
            $"Split '{Name}' holds {Volumes!.Depth}x{Volumes.Height}x{Volumes.Width} volumes, not 2D images; use Volumes.");
}
