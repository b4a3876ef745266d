using FedActors.Training.Data;
using FedActors.Training.Data.Formats;
using static FedActors.Tests.Training.Data.NpyFiles;

namespace FedActors.Tests.Training.Data;

public sealed class MedMnistReaderSpecs : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("fedactors-npz-").FullName;

    private static (int Normal, int Abnormal) Counts(MedMnistSplit split) =>
        (split.Labels.Count(l => l == 0), split.Labels.Count(l => l == 1));

    private string TempFile(string name) => Path.Combine(_dir, name);

    [SharedDataFact("pneumoniamnist.npz")]
    public void Should_load_every_pneumoniamnist_split_with_the_readme_label_counts()
    {
        var data = MedMnistReader.Load(SharedData.PathOf("pneumoniamnist.npz"));

        Assert.Equal(["test", "train", "val"], data.Splits.Keys.Order());
        Assert.Equal((388, 3494), Counts(data["train"]));
        Assert.Equal((135, 389), Counts(data["val"]));
        Assert.Equal((234, 390), Counts(data["test"]));
        var train = data["train"].ToShard();
        Assert.Equal((1, 28, 28, 3882), (train.Channels, train.Height, train.Width, train.Count));
        // Checksum of the first image, computed from the raw file outside .NET.
        Assert.Equal(120758, train.Pixels.Take(28 * 28).Sum(p => p));
        Assert.Equal(166, train.Pixels[^1]);
    }

    [SharedDataFact("adrenalmnist3d.npz")]
    public void Should_load_adrenalmnist3d_as_28_cubed_volumes()
    {
        var data = MedMnistReader.Load(SharedData.PathOf("adrenalmnist3d.npz"));

        Assert.Equal((929, 259), Counts(data["train"]));
        Assert.Equal((76, 22), Counts(data["val"]));
        Assert.Equal((229, 69), Counts(data["test"]));
        var train = data["train"].Volumes!;
        Assert.Equal((28, 28, 28, 1188), (train.Depth, train.Height, train.Width, train.Count));
        Assert.Equal(115005, train.Volume(0).ToArray().Sum(v => v));
        using var batch = train.Volumes([0, 5], TorchSharp.torch.CPU);
        Assert.Equal([2L, 1, 28, 28, 28], batch.shape);
        Assert.Throws<InvalidOperationException>(() => data["train"].ToShard());
    }

    [Fact]
    public void Should_discover_any_split_name_and_accept_flat_int64_labels_and_float_images()
    {
        var path = Npz(TempFile("folds.npz"),
            ("fold0_images.npy", Npy("<f4", [2, 1, 2], Floats(0f, 1f, 0.5f, 0.2f))),
            ("fold0_labels.npy", Npy("<i8", [2], Int64s(3, 7))));

        var fold = MedMnistReader.Load(path)["fold0"].ToShard();

        Assert.Equal([3, 7], fold.Labels);
        Assert.Equal([0, 255, 128, 51], fold.Pixels);
    }

    [Fact]
    public void Should_store_channels_last_rgb_images_channel_first()
    {
        // Two pixels, (R, G, B) = (1, 2, 3) and (4, 5, 6).
        var path = Npz(TempFile("rgb.npz"),
            ("train_images.npy", Npy("|u1", [1, 1, 2, 3], [1, 2, 3, 4, 5, 6])),
            ("train_labels.npy", Npy("|u1", [1, 1], [0])));

        var shard = MedMnistReader.Load(path)["train"].ToShard();

        Assert.Equal(3, shard.Channels);
        Assert.Equal([1, 4, 2, 5, 3, 6], shard.Pixels);
    }

    [Fact]
    public void Should_name_the_file_and_entry_when_a_split_has_no_labels()
    {
        var path = Npz(TempFile("half.npz"), ("val_images.npy", Npy("|u1", [1, 1, 1], [9])));

        var e = Assert.Throws<DataFormatException>(() => MedMnistReader.Load(path));

        Assert.Equal(path, e.File);
        Assert.Equal("val_labels.npy", e.Field);
        Assert.Contains("missing", e.Message);
    }

    [SharedDataFact("pneumoniamnist.npz")]
    public void Should_name_the_split_asked_for_that_the_file_lacks()
    {
        var data = MedMnistReader.Load(SharedData.PathOf("pneumoniamnist.npz"));

        var e = Assert.Throws<DataFormatException>(() => data["holdout"]);

        Assert.Contains("pneumoniamnist.npz", e.File);
        Assert.Contains("holdout", e.Field);
        Assert.Contains("test, train, val", e.Message);
    }

    [Fact]
    public void Should_name_a_missing_file()
    {
        var path = TempFile("absent.npz");
        var e = Assert.Throws<DataFormatException>(() => MedMnistReader.Load(path));
        Assert.Equal((path, "file"), (e.File, e.Field));
    }

    [SharedDataFact("pneumoniamnist.npz")]
    public void Should_reject_a_truncated_npz()
    {
        var bytes = File.ReadAllBytes(SharedData.PathOf("pneumoniamnist.npz"));
        var path = TempFile("truncated.npz");
        File.WriteAllBytes(path, bytes[..(bytes.Length / 2)]);

        var e = Assert.Throws<DataFormatException>(() => MedMnistReader.Load(path));

        Assert.Equal(path, e.File);
        Assert.Equal("zip archive", e.Field);
    }

    [Fact]
    public void Should_reject_a_truncated_npy_entry_with_expected_and_found_lengths()
    {
        var images = Npy("|u1", [2, 2, 2], new byte[8]);
        var path = Npz(TempFile("short.npz"),
            ("train_images.npy", images[..^3]),
            ("train_labels.npy", Npy("|u1", [2, 1], [0, 1])));

        var e = Assert.Throws<DataFormatException>(() => MedMnistReader.Load(path));

        Assert.Equal(path, e.File);
        Assert.Equal("train_images.npy data", e.Field);
        Assert.Contains("needs 8 bytes, found 5 (truncated)", e.Message);
    }

    [Fact]
    public void Should_reject_labels_that_do_not_match_the_image_count()
    {
        var path = Npz(TempFile("count.npz"),
            ("train_images.npy", Npy("|u1", [2, 1, 1], [0, 1])),
            ("train_labels.npy", Npy("|u1", [3, 1], [0, 1, 1])));

        var e = Assert.Throws<DataFormatException>(() => MedMnistReader.Load(path));

        Assert.Equal("train_labels.npy", e.Field);
        Assert.Contains("3 labels for 2 images", e.Message);
    }

    public void Dispose() => Directory.Delete(_dir, recursive: true);
}
