using FedActors.Host.Commands;
using FedActors.Host.Configuration;
using FedActors.Training.Data;
using FedActors.Training.Data.Formats;
using FedActors.Training.Experiments;
using FedActors.Training.Randomness;
using static FedActors.Tests.Training.Data.NiftiFiles;
using static FedActors.Tests.Training.Data.NpyFiles;

namespace FedActors.Tests.Host;

/// <summary><c>fedactors validate</c> opens the data: the per-hospital table, and data errors naming hospital and file (issue 26).</summary>
public class ValidateDataSpecs
{
    [Fact]
    public void Should_count_synthetic_classes_as_the_generator_draws_them()
    {
        // 10 images dealt over 4 classes in turn: 0,1,2,3,0,1,2,3,0,1.
        Assert.Equal([3, 3, 2, 2], SyntheticChestRadiographs.ClassCounts(10, 4));
        var drawn = SyntheticChestRadiographs.Generate(10, 16, ScannerProfile.Draw(SeededRandom.Derive(1, "scanner"), 1.0), SeededRandom.Derive(1, "images"), 4);
        Assert.Equal([3, 3, 2, 2], Enumerable.Range(0, 4).Select(c => drawn.Labels.Count(l => l == c)).ToArray());
    }

    [Fact]
    public void Should_print_one_row_per_hospital_with_source_images_shape_and_class_counts()
    {
        var config = ExperimentConfig.Load(null, ["data.hospitals=3", "data.train-images-per-hospital=10", "rounds.min-participants=1"]);
        var lines = ValidateCommand.DataTable(config).Split('\n');
        Assert.Equal(5, lines.Length); // header, 3 hospitals, total
        Assert.Equal("hospital     source     images  shape    classes (images of each)", lines[0]);
        Assert.Equal("hospital-01  synthetic      10  1×32×32  4 (3/3/2/2)", lines[1]);
        Assert.Equal("hospital-03  synthetic      10  1×32×32  4 (3/3/2/2)", lines[3]);
        Assert.Equal("data: 3 hospitals, 30 training images (9/9/6/6 by class)", lines[4]);
    }

    [Fact]
    public void Should_read_a_MedMNIST_file_and_count_each_hospitals_labels()
    {
        var dir = Directory.CreateTempSubdirectory("fedactors-validate-npz-").FullName;
        try
        {
            byte[] Images(int n) => Enumerable.Range(0, n * 64).Select(i => (byte)(i * 7)).ToArray();
            var file = Npz(Path.Combine(dir, "tiny.npz"),
                ("train_images.npy", Npy("|u1", [12, 8, 8], Images(12))),
                ("train_labels.npy", Npy("<i8", [12, 1], Int64s(0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1))),
                ("val_images.npy", Npy("|u1", [2, 8, 8], Images(2))),
                ("val_labels.npy", Npy("<i8", [2, 1], Int64s(0, 1))),
                ("test_images.npy", Npy("|u1", [2, 8, 8], Images(2))),
                ("test_labels.npy", Npy("<i8", [2, 1], Int64s(0, 1))));
            var shards = ExperimentSites.Inventory(new ExperimentSettings { DataSource = file, Hospitals = 2 });
            Assert.Equal(["hospital-01", "hospital-02"], shards.Select(s => s.HospitalId));
            Assert.All(shards, s => Assert.Equal(("tiny.npz", 6, "1×8×8", 2), (s.Source, s.Images, s.Shape, s.ClassCounts.Count)));
            // IID shares of the train split: together they hold the file's 8 of class 0 and 4 of class 1.
            Assert.Equal([8, 4], new[] { 0, 1 }.Select(c => shards.Sum(s => s.ClassCounts[c])));
            Assert.EndsWith("data: 2 hospitals, 12 training images (8/4 by class)", ValidateCommand.Table(shards));
        }
        finally { Directory.Delete(dir, recursive: true); }
    }

    private static readonly string[] Volumetric = ["model.encoder=unet", "data.slice-size=32", "data.test-volumes=1", "data.validation-volumes=1"];

    /// <summary>A 8×8×8 uint8 volume and its label map (classes 0/1) as <c>ID.nii.gz</c> and <c>ID_gt.nii.gz</c>.</summary>
    private static string WriteVolume(string dir, string id)
    {
        var image = Path.Combine(dir, id + ".nii.gz");
        File.WriteAllBytes(image, Gzip(Nii(2, 8, (8, 8, 8), [.. Enumerable.Range(0, 512).Select(i => (byte)(i % 251))])));
        File.WriteAllBytes(Path.Combine(dir, id + "_gt.nii.gz"), Gzip(Nii(2, 8, (8, 8, 8), [.. Enumerable.Range(0, 512).Select(i => (byte)(i / 256))])));
        return image;
    }

    [Fact]
    public async Task Should_exit_two_naming_the_hospital_and_the_file_of_an_unreadable_volume()
    {
        var dir = Directory.CreateTempSubdirectory("fedactors-validate-nii-").FullName;
        var ids = new[] { "a", "b", "c", "d" };
        foreach (var id in ids) WriteVolume(dir, id);
        // The volumes are dealt (seeded) before any is read: 1 test, 1 validation, then round-robin over 2 hospitals.
        var order = SeededRandom.Derive(42, "sites/volumes").Permutation(ids.Length);
        var broken = ids[order[3]]; // the fourth in the dealt order: hospital-02's volume
        var file = Path.Combine(dir, broken + ".nii.gz");
        File.WriteAllBytes(file, Gzip(Nii(2, 8, (8, 8, 8), new byte[100]))); // voxel data cut short
        var (exit, error) = await ValidateAsync([.. Volumetric.Select(s => $"--set={s}"), "--set", "data.hospitals=2", "--set", "rounds.min-participants=1", "--set", $"data.source={dir}"]);
        Directory.Delete(dir, recursive: true);
        Assert.Equal(FedActors.Host.Program.UsageError, exit);
        Assert.Contains($"fedactors: data error: hospital-02: {file}: voxel data: truncated", error);
        Assert.DoesNotContain("   at ", error); // no stack trace
    }

    [Fact]
    public async Task Should_read_one_nii_gz_given_as_the_data_source_as_NIfTI_not_as_a_zip()
    {
        var dir = Directory.CreateTempSubdirectory("fedactors-validate-one-nii-").FullName;
        var image = WriteVolume(dir, "heart");
        Assert.True(new ExperimentSettings { DataSource = image }.IsVolumetric);
        var pair = Assert.Single(NiftiDirectory.Pairs(image));
        Assert.Equal(Path.Combine(dir, "heart_gt.nii.gz"), pair.Mask);
        var volume = pair.Load();
        Assert.Equal((8, 8, 8), (volume.Depth, volume.Height, volume.Width));

        // Read as NIfTI: one volume cannot fill a test, a validation and a hospital's share, which the error says.
        var (exit, error) = await ValidateAsync([.. Volumetric.Select(s => $"--set={s}"), "--set", $"data.source={image}"]);
        Assert.Equal(FedActors.Host.Program.UsageError, exit);
        Assert.Contains($"fedactors: data error: {image}: volumes: 1 volume(s) cannot give 1 test, 1 validation and at least one per each of 8 hospitals; give the directory", error);
        // A corrupt one is a corrupt gzip stream, not a corrupt zip archive.
        File.WriteAllBytes(image, [0x1f, 0x8b, 8, 0, .. Enumerable.Range(0, 64).Select(i => (byte)(i * 13))]);
        (exit, error) = await ValidateAsync([.. Volumetric.Select(s => $"--set={s}"), "--set", $"data.source={image}"]);
        Directory.Delete(dir, recursive: true);
        Assert.Equal(FedActors.Host.Program.UsageError, exit);
        Assert.Contains($"fedactors: data error: {image}: gzip stream: corrupt or truncated", error);
        Assert.DoesNotContain("zip archive", error);
    }

    private static async Task<(int Exit, string Error)> ValidateAsync(string[] args)
    {
        var printed = new StringWriter();
        var original = Console.Error;
        Console.SetError(printed);
        try
        {
            return (await FedActors.Host.Program.Main(["validate", .. args]).Within(TimeSpan.FromMinutes(1), "fedactors' answer"), printed.ToString());
        }
        finally { Console.SetError(original); }
    }
}
