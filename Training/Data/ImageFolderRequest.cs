namespace FedActors.Training.Data;

/// <summary>
/// What to load from an image folder labelled by a CSV: the id column names the image
/// (file name with or without extension), the label columns hold integer classes, and
/// an optional filter keeps only rows whose <see cref="FilterColumn"/> equals
/// <see cref="FilterValue"/>. Every image is resized to <see cref="Height"/>×<see cref="Width"/>.
/// </summary>
/// <param name="Folder">The folder holding the image files.</param>
/// <param name="LabelsCsv">Path of the CSV with one row per image.</param>
/// <param name="IdColumn">The CSV column naming each row's image file.</param>
/// <param name="LabelColumns">CSV columns of integer labels to load; at least one, the first labels the images.</param>
/// <param name="Height">Target image height in pixels; positive.</param>
/// <param name="Width">Target image width in pixels; positive.</param>
/// <param name="Color">Whether images are stored grey or RGB; RGB by default.</param>
/// <param name="FilterColumn">A CSV column to filter rows on, or <see langword="null"/> to keep every row.</param>
/// <param name="FilterValue">The value <paramref name="FilterColumn"/> must equal (exactly) for a row to be kept.</param>
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
