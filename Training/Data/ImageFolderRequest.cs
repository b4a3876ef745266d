namespace FedActors.Training.Data;

/// <summary>
/// What to load from an image folder labelled by a CSV: the id column names the image
/// (file name with or without extension), the label columns hold integer classes, and
/// an optional filter keeps only rows whose <see cref="FilterColumn"/> equals
/// <see cref="FilterValue"/>. Every image is resized to <see cref="Height"/>×<see cref="Width"/>.
/// </summary>
public sealed record ImageFolderRequest(
    string Folder,
    string LabelsCsv,
    string IdColumn,
    IReadOnlyList<string> LabelColumns,
    int Height,
    int Width,
    ColorMode Color = ColorMode.Rgb,
    string? FilterColumn = null,
    string? FilterValue = null);
