using FedActors.Training.Data;
using FedActors.Training.Data.Formats;
using SkiaSharp;

namespace FedActors.Tests.Training.Data;

public sealed class ImageFolderReaderSpecs : IDisposable
{
    private static readonly string IsicFolder = SharedData.PathOf("isic2018_melanoma/images");
    private static readonly string IsicCsv = SharedData.PathOf("isic2018_melanoma/labels.csv");
    private readonly string _dir = Directory.CreateTempSubdirectory("fedactors-images-").FullName;

    private string Csv(params string[] lines)
    {
        var path = Path.Combine(_dir, "labels.csv");
        File.WriteAllLines(path, lines);
        return path;
    }

    private ImageFolderRequest Request(string csv, string folder, int height = 16, int width = 16, ColorMode color = ColorMode.Rgb) =>
        new(folder, csv, "isic_id", ["melanoma"], height, width, color);

    private void WriteGreyPng(string name, byte grey)
    {
        using var bitmap = new SKBitmap(new SKImageInfo(2, 2, SKColorType.Gray8));
        bitmap.Erase(new SKColor(grey, grey, grey));
        using var png = bitmap.Encode(SKEncodedImageFormat.Png, 100);
        File.WriteAllBytes(Path.Combine(_dir, name), png.ToArray());
    }

    private void CopyIsic(params string[] ids)
    {
        foreach (var id in ids) File.Copy(Path.Combine(IsicFolder, id + ".jpg"), Path.Combine(_dir, id + ".jpg"));
    }

    [SharedDataFact("isic2018_melanoma/labels.csv")]
    public void Should_read_the_isic_labels_with_the_readme_counts()
    {
        var csv = CsvTable.Read(IsicCsv);

        Assert.Equal(["isic_id", "source_split", "melanoma"], csv.Header);
        Assert.Equal(2648, csv.Rows.Count);
        Assert.Equal(662, csv.Rows.Count(r => r.Fields[2] == "1"));
        Assert.Equal(2, csv.Rows[0].Line);
    }

    [SharedDataFact("isic2018_melanoma/images", "isic2018_melanoma/labels.csv")]
    public void Should_decode_every_isic_image_at_the_requested_size_in_csv_order()
    {
        var set = ImageFolderReader.Load(new ImageFolderRequest(IsicFolder, IsicCsv, "isic_id", ["melanoma"], 32, 40));

        Assert.Equal(2648, set.Count);
        Assert.Equal(CsvTable.Read(IsicCsv).Rows.Select(r => r.Fields[0]), set.Ids);
        Assert.Equal(662, set.LabelsOf("melanoma").Sum());
        var shard = set.Images;
        Assert.Equal((3, 32, 40), (shard.Channels, shard.Height, shard.Width));
        using var batch = shard.Images([0, 2647], TorchSharp.torch.CPU);
        Assert.Equal([2L, 3, 32, 40], batch.shape);
        // Dermoscopy images are neither blank nor saturated.
        Assert.InRange(shard.Pixels.Average(p => p), 40, 220);
    }

    [SharedDataFact("isic2018_melanoma/images")]
    public void Should_keep_only_filtered_rows_and_convert_to_grey_luma()
    {
        CopyIsic("ISIC_0024307", "ISIC_0024309", "ISIC_0024329");
        var csv = Csv("isic_id,source_split,melanoma,benign", "ISIC_0024307,a,0,1", "ISIC_0024309,b,1,0", "ISIC_0024329,a,1,0");
        var filtered = Request(csv, _dir, 12, 20) with { LabelColumns = ["melanoma", "benign"], FilterColumn = "source_split", FilterValue = "a" };

        var rgb = ImageFolderReader.Load(filtered);
        var grey = ImageFolderReader.Load(filtered with { Color = ColorMode.Grey });

        Assert.Equal(["ISIC_0024307", "ISIC_0024329"], grey.Ids);
        Assert.Equal([0, 1], grey.Images.Labels);
        Assert.Equal([1, 0], grey.ToShard("benign").Labels);
        Assert.Equal((1, 12, 20), (grey.Images.Channels, grey.Images.Height, grey.Images.Width));
        var plane = 12 * 20;
        for (var p = 0; p < plane; p += 37)
        {
            var luma = 0.299 * rgb.Images.Pixels[p] + 0.587 * rgb.Images.Pixels[plane + p] + 0.114 * rgb.Images.Pixels[2 * plane + p];
            Assert.InRange(grey.Images.Pixels[p], luma - 1, luma + 1);
        }
    }

    [Fact]
    public void Should_read_grey_png_files_as_rgb()
    {
        WriteGreyPng("g.png", 90);
        var csv = Csv("isic_id,melanoma", "\"g.png\",1");

        var set = ImageFolderReader.Load(Request(csv, _dir, 2, 2));

        Assert.Equal(Enumerable.Repeat((byte)90, 12), set.Images.Pixels);
    }

    [Fact]
    public void Should_name_the_csv_and_the_missing_column()
    {
        var csv = Csv("isic_id,melanoma", "ISIC_0024307,0");

        var e = Assert.Throws<DataFormatException>(() => ImageFolderReader.Load(Request(csv, _dir) with { LabelColumns = ["nevus"] }));

        Assert.Equal(csv, e.File);
        Assert.Equal("column 'nevus'", e.Field);
        Assert.Contains("found isic_id, melanoma", e.Message);
    }

    [Fact]
    public void Should_name_the_line_and_column_of_an_unparsable_label()
    {
        var csv = Csv("isic_id,melanoma", "ISIC_0024307,0", "ISIC_0024309,maybe");

        var e = Assert.Throws<DataFormatException>(() => ImageFolderReader.Load(Request(csv, _dir)));

        Assert.Equal(csv, e.File);
        Assert.Equal("line 3, column 'melanoma'", e.Field);
        Assert.Contains("found 'maybe'", e.Message);
    }

    [Fact]
    public void Should_name_the_line_of_a_row_with_too_few_fields()
    {
        var csv = Csv("isic_id,melanoma", "ISIC_0024307");

        var e = Assert.Throws<DataFormatException>(() => ImageFolderReader.Load(Request(csv, _dir)));

        Assert.Equal("line 2", e.Field);
        Assert.Contains("expected 2 fields as in the header, found 1", e.Message);
    }

    [Fact]
    public void Should_name_the_row_and_the_expected_path_of_a_missing_image()
    {
        WriteGreyPng("ISIC_0024307.png", 90);
        var csv = Csv("isic_id,melanoma", "ISIC_0024307.png,0", "ISIC_9999999,1");

        var e = Assert.Throws<DataFormatException>(() => ImageFolderReader.Load(Request(csv, _dir)));

        Assert.Equal(csv, e.File);
        Assert.Equal("line 3, column 'isic_id'", e.Field);
        Assert.Contains(Path.Combine(_dir, "ISIC_9999999"), e.Message);
    }

    [SharedDataFact("isic2018_melanoma/images")]
    public void Should_name_a_corrupt_jpeg()
    {
        CopyIsic("ISIC_0024307");
        var corrupt = Path.Combine(_dir, "ISIC_0000001.jpg");
        File.WriteAllBytes(corrupt, [0xFF, 0xD8, 0xFF, 0xE0, 1, 2, 3, 4, 5, 6, 7, 8]);
        var csv = Csv("isic_id,melanoma", "ISIC_0024307,0", "ISIC_0000001,1");

        var e = Assert.Throws<DataFormatException>(() => ImageFolderReader.Load(Request(csv, _dir)));

        Assert.Equal(corrupt, e.File);
        Assert.Equal("image data", e.Field);
    }

    public void Dispose() => Directory.Delete(_dir, recursive: true);
}
