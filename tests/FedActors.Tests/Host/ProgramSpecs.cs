namespace FedActors.Tests.Host;

public class ProgramSpecs
{
    [Theory]
    [InlineData("run", "run --resume RUN_DIR")]
    [InlineData("validate", "validate [experiment.conf]")]
    [InlineData("methods", "keys with type, default and allowed values")]
    [InlineData("node", "--run-id ID")]
    [InlineData("report", "report RUN_DIR...")]
    [InlineData("runs", "runs [--runs-dir DIR]")]
    [InlineData("bench", "bench [encoders|engine|aggregation|scale|leases|transport|placement|store]")]
    public async Task Should_print_one_commands_usage_for_its_help_and_exit_zero(string command, string expected)
    {
        var printed = new StringWriter();
        var original = Console.Out;
        Console.SetOut(printed);
        try
        {
            Assert.Equal(FedActors.Host.Program.Ok, await FedActors.Host.Program.Main([command, "--help"]).Within(TimeSpan.FromMinutes(1), "fedactors' answer"));
            Assert.Equal(FedActors.Host.Program.Ok, await FedActors.Host.Program.Main(["help", command]).Within(TimeSpan.FromMinutes(1), "fedactors' answer"));
        }
        finally
        {
            Console.SetOut(original);
        }
        var text = printed.ToString();
        Assert.Contains(expected, text);
        Assert.Contains("exit codes: 0 ok", text);
        // Only that command: no other command's usage line.
        foreach (var other in new[] { "run", "validate", "node", "report", "bench" }.Where(o => o != command))
            Assert.DoesNotContain($"\n  {other} ", text);
    }

    [Fact]
    public async Task Should_exit_zero_for_a_valid_config_and_two_for_a_bad_one_or_bad_usage()
    {
        var good = Path.GetTempFileName();
        var bad = Path.GetTempFileName();
        File.WriteAllText(good, "fedactors.rounds.count = 3");
        File.WriteAllText(bad, "fedactors.rounds.cuont = 3");
        try
        {
            Assert.Equal(FedActors.Host.Program.Ok, await FedActors.Host.Program.Main(["validate", good]).Within(TimeSpan.FromMinutes(1), "fedactors' answer"));
            Assert.Equal(FedActors.Host.Program.UsageError, await FedActors.Host.Program.Main(["validate", bad]).Within(TimeSpan.FromMinutes(1), "fedactors' answer"));
            Assert.Equal(FedActors.Host.Program.UsageError, await FedActors.Host.Program.Main(["validate", good, "--set", "rounds.count=zero"]).Within(TimeSpan.FromMinutes(1), "fedactors' answer"));
            Assert.Equal(FedActors.Host.Program.UsageError, await FedActors.Host.Program.Main(["frobnicate"]).Within(TimeSpan.FromMinutes(1), "fedactors' answer"));
            Assert.Equal(FedActors.Host.Program.UsageError, await FedActors.Host.Program.Main(["node", "--roles", "chef"]).Within(TimeSpan.FromMinutes(1), "fedactors' answer"));
        }
        finally
        {
            File.Delete(good);
            File.Delete(bad);
        }
    }

    [Fact]
    public async Task Should_exit_two_with_one_line_naming_the_file_for_a_corrupt_data_file()
    {
        var dir = Directory.CreateTempSubdirectory("fedactors-baddata-").FullName;
        var data = Path.Combine(dir, "scans.npz");
        File.WriteAllBytes(data, [.. Enumerable.Range(0, 512).Select(i => (byte)(i * 37))]); // not a zip archive
        var printed = new StringWriter();
        var original = Console.Error;
        Console.SetError(printed);
        try
        {
            var exit = await FedActors.Host.Program.Main(["run", "--set", $"data.source={data}", "--set", $"runs-dir={Path.Combine(dir, "runs")}"])
                .Within(TimeSpan.FromMinutes(1), "fedactors' answer");
            Assert.Equal(FedActors.Host.Program.UsageError, exit);
            // Failed in setup, before any round: nothing worth keeping, so no run directory is left.
            var runs = Path.Combine(dir, "runs");
            Assert.True(!Directory.Exists(runs) || !Directory.EnumerateFileSystemEntries(runs).Any());
        }
        finally
        {
            Console.SetError(original);
            Directory.Delete(dir, recursive: true);
        }
        var error = printed.ToString();
        // (Contains, not Equal: another spec running beside this one may write to the console's error stream too.)
        Assert.Contains($"fedactors: data error: {data}: zip archive: corrupt or truncated", error);
        Assert.DoesNotContain("DataFormatException", error); // one line, no exception type and stack trace
    }

    [Theory]
    [InlineData("--version")]
    [InlineData("version")]
    public async Task Should_print_the_version_and_commit_for_version_and_exit_zero(string argument)
    {
        var printed = new StringWriter();
        var original = Console.Out;
        Console.SetOut(printed);
        try
        {
            Assert.Equal(FedActors.Host.Program.Ok, await FedActors.Host.Program.Main([argument]).Within(TimeSpan.FromMinutes(1), "fedactors' answer"));
            Assert.Equal(FedActors.Host.Program.Ok, await FedActors.Host.Program.Main(["--help"]).Within(TimeSpan.FromMinutes(1), "fedactors' answer"));
        }
        finally
        {
            Console.SetOut(original);
        }
        var lines = printed.ToString().Split('\n');
        // A semantic version from git (MinVer: 0.1.0-alpha.0.N between tags) and the commit's hash.
        Assert.Matches(@"^fedactors \d+\.\d+\.\d+(-[0-9A-Za-z.-]+)? \(commit [0-9a-f]{7,40}\)$", lines[0].TrimEnd());
        Assert.Contains(lines, l => l.TrimStart().StartsWith("version (or --version)", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Should_list_the_default_registrys_methods_from_the_command_line()
    {
        var printed = new StringWriter();
        var original = Console.Out;
        Console.SetOut(printed);
        try
        {
            Assert.Equal(FedActors.Host.Program.Ok, await FedActors.Host.Program.Main(["methods"]).Within(TimeSpan.FromMinutes(1), "fedactors' answer"));
        }
        finally
        {
            Console.SetOut(original);
        }
        Assert.All(FedActors.Training.Methods.MethodRegistry.Default.Names, name => Assert.Contains($"\n{name}: ", "\n" + printed));
    }
}
