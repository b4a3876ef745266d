using System.Globalization;
using SkiaSharp;

namespace FedActors.Training.Data.Formats;

/// <summary>
/// Loads JPEG/PNG images (RGB or grey) named by a CSV's id column, resized to the
/// requested size and stored as grey or RGB bytes. Decoding runs in parallel; results
/// keep CSV row order, and when several rows fail the first one's error is reported.
/// </summary>
public static class ImageFolderReader
{
    private static readonly string[] Extensions = [".jpg", ".jpeg", ".png", ".JPG", ".JPEG", ".PNG"];

    /// <summary>Loads every CSV row kept by the request's filter: finds its image, decodes and resizes it, and parses its integer labels.</summary>
    /// <param name="request">Folder, CSV, columns, target size and colour mode.</param>
    /// <returns>The images in CSV row order, labelled by the first label column, with all label columns beside them.</returns>
    /// <exception cref="ArgumentException">The target size is not positive or no label column is named.</exception>
    /// <exception cref="DataFormatException">The folder, CSV, a column or an image is missing, a label is not an integer, or an image cannot be decoded.</exception>
    public static LabeledImageSet Load(ImageFolderRequest request)
    {
        if (request.Height <= 0 || request.Width <= 0)
            throw new ArgumentException($"Requested image size must be positive, found {request.Height}x{request.Width}.");
        if (request.LabelColumns.Count == 0) throw new ArgumentException("At least one label column is needed.");
        if (!Directory.Exists(request.Folder)) throw new DataFormatException(request.Folder, "image folder", "not found");

        var csv = CsvTable.Read(request.LabelsCsv);
        var idColumn = csv.Column(request.IdColumn);
        var labelColumns = request.LabelColumns.Select(csv.Column).ToArray();
        var filterColumn = request.FilterColumn is null ? -1 : csv.Column(request.FilterColumn);
        var rows = csv.Rows.Where(r => filterColumn < 0 || r.Fields[filterColumn] == request.FilterValue).ToList();

        var ids = rows.Select(r => r.Fields[idColumn]).ToArray();
        var labels = request.LabelColumns.Select((name, k) => (Column: name, Values: rows.Select(r => ParseLabel(csv, r, labelColumns[k])).ToArray())).ToList();
        var files = rows.Select(r => FindImage(request, csv, r, idColumn)).ToArray();

        var channels = request.Color == ColorMode.Rgb ? 3 : 1;
        var size = channels * request.Height * request.Width;
        var pixels = new byte[rows.Count * size];
        var errors = new Exception?[rows.Count];
        Parallel.For(0, rows.Count, i =>
        {
            try { Decode(files[i], request, pixels.AsSpan(i * size, size)); }
            catch (Exception e) { errors[i] = e; }
        });
        var first = errors.FirstOrDefault(e => e is not null);
        if (first is not null) throw first is DataFormatException ? first : new DataFormatException(files[Array.IndexOf(errors, first)], "image data", first.Message, first);
        return new LabeledImageSet(ids, new ImageShard(channels, request.Height, request.Width, pixels, labels[0].Values), labels);
    }

    private static int ParseLabel(CsvTable csv, (int Line, string[] Fields) row, int column) =>
        int.TryParse(row.Fields[column], NumberStyles.Integer, CultureInfo.InvariantCulture, out var label)
            ? label
            : throw new DataFormatException(csv.File, $"line {row.Line}, column '{csv.Header[column]}'", $"expected an integer label, found '{row.Fields[column]}'");

    private static string FindImage(ImageFolderRequest request, CsvTable csv, (int Line, string[] Fields) row, int column)
    {
        var id = row.Fields[column];
        var direct = Path.Combine(request.Folder, id);
        if (Path.HasExtension(id) && File.Exists(direct)) return direct;
        return Extensions.Select(e => direct + e).FirstOrDefault(File.Exists)
            ?? throw new DataFormatException(csv.File, $"line {row.Line}, column '{csv.Header[column]}'",
                $"no image file for id '{id}': expected {direct}{(Path.HasExtension(id) ? "" : "{.jpg,.jpeg,.png}")}");
    }

    /// <summary>Decodes <paramref name="file"/>, resizes it and writes C×H×W bytes into <paramref name="target"/>.</summary>
    private static void Decode(string file, ImageFolderRequest request, Span<byte> target)
    {
        using var decoded = SKBitmap.Decode(file)
            ?? throw new DataFormatException(file, "image data", "not a decodable JPEG or PNG (corrupt, truncated or another format)");
        var info = new SKImageInfo(request.Width, request.Height, SKColorType.Rgba8888, SKAlphaType.Unpremul);
        // Bilinear with linear mipmaps: what SkiaSharp 2 called medium quality.
        using var resized = decoded.Resize(info, new SKSamplingOptions(SKFilterMode.Linear, SKMipmapMode.Linear))
            ?? throw new DataFormatException(file, "image data", $"cannot resize {decoded.Width}x{decoded.Height} {decoded.ColorType} to {request.Width}x{request.Height}");
        var rgba = resized.GetPixelSpan();
        var plane = request.Height * request.Width;
        for (var p = 0; p < plane; p++)
        {
            var (r, g, b) = (rgba[4 * p], rgba[4 * p + 1], rgba[4 * p + 2]);
            if (request.Color == ColorMode.Grey)
                target[p] = (byte)Math.Round(0.299 * r + 0.587 * g + 0.114 * b);
            else
                (target[p], target[plane + p], target[2 * plane + p]) = (r, g, b);
        }
    }
}
