namespace FedActors.Tests.Host;

/// <summary>
/// The bad-config corpus (BadConfigs/*.conf, each opening with <c># what is wrong | expect: message fragment</c>), run
/// through the command line as a user would: <c>validate</c> and <c>run</c> each exit 2 with one line naming the file and
/// the problem, no stack trace, nothing left in the runs directory, and no more of the file echoed than a short snippet.
/// </summary>
[Collection(ConsoleCapture.Name)]
public sealed class BadConfigSpecs
{
    private static readonly string Corpus = Path.Combine(AppContext.BaseDirectory, "Host", "BadConfigs");

    /// <summary>Every file of the corpus, by name.</summary>
    public static TheoryData<string> Files()
    {
        var data = new TheoryData<string>();
        foreach (var file in Directory.GetFiles(Corpus, "*.conf").Order(StringComparer.Ordinal)) data.Add(Path.GetFileName(file));
        return data;
    }

    [Fact]
    public void Should_hold_at_least_forty_bad_configs_each_saying_what_is_wrong_and_what_to_expect()
    {
        var files = Directory.GetFiles(Corpus, "*.conf");
        Assert.True(files.Length >= 40, $"{files.Length} files");
        Assert.All(files, f => Assert.Matches(@"^# .+ \| expect: .+$", File.ReadLines(f).First()));
    }

    [Fact]
    public void Should_estimate_the_hospitals_memory_from_their_images_and_models()
    {
        var e = new FedActors.Training.Experiments.ExperimentSettings
        {
            Hospitals = 10, TrainImagesPerHospital = 100, TestImagesPerHospital = 20, ImageSize = 32,
            EncoderWidths = [8, 8, 16, 16], ProjectionDim = 16, MoCo = new FedActors.Training.Objectives.MoCoV2Options { QueueSize = 32 },
        };
        // 10 hospitals × 120 images × 32 × 32 one-byte pixels.
        Assert.Equal(1_228_800, FedActors.Host.Configuration.MemoryEstimate.HospitalBytes(e, residentModels: false));
        // And each a model: 4 float32 copies of 4,616 parameters (3x3 convolutions 72 + 576 + 1,152 + 2,304, head 256 + 256)
        // plus a queue of 32 × 16 floats.
        Assert.Equal(1_228_800 + 10 * (4 * 4 * 4_616 + 4 * 32 * 16), FedActors.Host.Configuration.MemoryEstimate.HospitalBytes(e, residentModels: true));
        // Skin lesions have 3 channels; a file's images are as many as the file holds (not estimated).
        Assert.Equal(3 * 1_228_800, FedActors.Host.Configuration.MemoryEstimate.HospitalBytes(e with { DataSource = FedActors.Training.Experiments.ExperimentSettings.SyntheticSkinSource }, false));
        Assert.Equal(0, FedActors.Host.Configuration.MemoryEstimate.HospitalBytes(e with { DataSource = "/data/scans.npz" }, false));
    }

    [Fact]
    public void Should_read_an_include_from_the_configs_own_folder_and_refuse_a_link_out_of_it()
    {
        var folder = Directory.CreateTempSubdirectory("fedactors-include-").FullName;
        try
        {
            Directory.CreateDirectory(Path.Combine(folder, "experiment", "common"));
            File.WriteAllText(Path.Combine(folder, "experiment", "common", "rounds.conf"), "fedactors.rounds.count = 7\n");
            var file = Path.Combine(folder, "experiment", "exp.conf");
            File.WriteAllText(file, "include \"common/rounds.conf\"\nfedactors.seed = 5\n");
            var config = FedActors.Host.Configuration.ExperimentConfig.Load(file, []);
            Assert.Equal(7, config.Coordinator.Rounds);
            Assert.Equal(5UL, config.Experiment.Seed);

            File.WriteAllText(Path.Combine(folder, "outside.conf"), "fedactors.rounds.count = 9\n");
            File.CreateSymbolicLink(Path.Combine(folder, "experiment", "link.conf"), Path.Combine(folder, "outside.conf"));
            File.WriteAllText(file, "include \"link.conf\"\n");
            var e = Assert.Throws<FedActors.Host.Configuration.ConfigError>(() => FedActors.Host.Configuration.ExperimentConfig.Load(file, []));
            Assert.Equal($"{file}:1: include \"link.conf\" links to a file outside the config's folder {Path.Combine(folder, "experiment")}; " +
                         "only files in that folder (or below it) may be included.", e.Message);
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    [Theory]
    [MemberData(nameof(Files))]
    public async Task Should_refuse_with_exit_two_one_clear_line_and_nothing_left_behind(string name)
    {
        // Copied into a folder of its own, beside no other file: an include of "../x" must reach outside it.
        var folder = Directory.CreateTempSubdirectory("fedactors-badconfig-").FullName;
        var runs = Path.Combine(folder, "runs");
        Directory.CreateDirectory(runs);
        var file = Path.Combine(folder, "experiment", name);
        Directory.CreateDirectory(Path.GetDirectoryName(file)!);
        File.Copy(Path.Combine(Corpus, name), file);
        var expected = File.ReadLines(file).First().Split("| expect: ", 2)[1];
        try
        {
            foreach (var command in new[] { "validate", "run" })
            {
                var (exit, error) = await ConsoleCapture.ErrorOf(() => FedActors.Host.Program.Main([command, file, "--set", $"runs-dir={runs}"]));
                Assert.True(exit == FedActors.Host.Program.UsageError, $"{command} {name}: exit {exit}\n{error}");
                Assert.Contains($"fedactors: configuration error: {file}", error);
                Assert.Contains(expected, error);
                Assert.DoesNotContain("   at ", error); // no stack trace
                Assert.Single(error.TrimEnd('\n').Split('\n'));
                Assert.Empty(Directory.GetFileSystemEntries(runs));
                // No echo: none of the file's long lines appears whole, nothing unprintable appears at all.
                foreach (var line in File.ReadLines(file).Skip(1).Where(l => l.Length > 80))
                    Assert.DoesNotContain(line.Trim(), error);
                Assert.DoesNotContain(error.TrimEnd('\n'), c => char.IsControl(c) && c != '\t');
                Assert.DoesNotContain("root:", error); // nothing of /etc/passwd or /etc/shadow
            }
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }
}

/// <summary>Specs that capture the console's error stream: one at a time, since the console is the process's.</summary>
[CollectionDefinition(Name)]
public sealed class ConsoleCapture
{
    public const string Name = "console capture";

    /// <summary>Runs <paramref name="command"/> with the console's error stream captured; its exit code and what it printed there.</summary>
    public static async Task<(int Exit, string Error)> ErrorOf(Func<Task<int>> command)
    {
        var printed = new StringWriter();
        var original = Console.Error;
        Console.SetError(printed);
        try
        {
            var exit = await command().Within(TimeSpan.FromMinutes(1), "fedactors' answer");
            return (exit, printed.ToString().Replace("\r", ""));
        }
        finally
        {
            Console.SetError(original);
        }
    }
}
