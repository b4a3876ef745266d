using FedActors.Host.Commands;
using FedActors.Host.Configuration;
using FedActors.Host.Runs;

namespace FedActors.Tests.Host;

/// <summary>
/// A run that cannot write its results: a full disk stops it with one error naming the file, no CSV loses rows, no
/// half-written file is left, and <c>--resume</c> after space is freed ends with the uninterrupted run's model; a run that
/// fails leaves nothing before its first round and a directory marked <c>failed.txt</c> after.
/// </summary>
[Collection(InProcessRuns.Name)]
public sealed class RunFailureSpecs : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("fedactors-failure-").FullName;

    /// <summary>
    /// A disk that fills up right after round <paramref name="fullAfterRound"/>'s metrics row is written: the next write
    /// of any run file puts half its bytes down and fails with ENOSPC, as a real one does, and every later write fails.
    /// </summary>
    private sealed class FillingDisk(int fullAfterRound) : RunFiles
    {
        public bool Full { get; private set; }

        public void FillNow() => Full = true;
        public string? TornFile { get; private set; }

        protected override Stream Open(string path, FileMode mode) => new Filling(base.Open(path, mode), path, this);

        private sealed class Filling(Stream inner, string path, FillingDisk disk) : Stream
        {
            public override bool CanRead => false;
            public override bool CanSeek => false;
            public override bool CanWrite => true;
            public override long Length => inner.Length;
            public override long Position { get => inner.Position; set => throw new NotSupportedException(); }
            public override void Flush() => inner.Flush();
            public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();
            public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
            public override void SetLength(long value) => throw new NotSupportedException();

            public override void Write(byte[] buffer, int offset, int count)
            {
                if (disk.Full)
                {
                    if (disk.TornFile is null)
                    {
                        // Half the bytes, cut mid-line (never just after a newline).
                        var kept = count / 2 + (buffer[offset + count / 2 - 1] == (byte)'\n' ? 1 : 0);
                        inner.Write(buffer, offset, kept);
                        inner.Flush();
                        disk.TornFile = path;
                    }
                    throw new IOException("No space left on device", 28); // ENOSPC, as .NET reports it on Linux
                }
                inner.Write(buffer, offset, count);
                if (Path.GetFileName(path) == RunDirectory.MetricsFile &&
                    System.Text.Encoding.UTF8.GetString(buffer, offset, count).StartsWith($"{disk.FullAfterRound},", StringComparison.Ordinal))
                    disk.Full = true;
            }

            protected override void Dispose(bool disposing)
            {
                if (disposing) inner.Dispose();
                base.Dispose(disposing);
            }
        }

        private int FullAfterRound { get; } = fullAfterRound;
    }

    /// <summary>Run files that throw <paramref name="failure"/> on the metrics row of round <paramref name="round"/>: a fault of the program, not the user's.</summary>
    private sealed class FailingMetrics(int round, Exception failure) : RunFiles
    {
        protected override Stream Open(string path, FileMode mode) =>
            Path.GetFileName(path) == RunDirectory.MetricsFile && File.Exists(path) && File.ReadLines(path).Count() == round ? throw failure : base.Open(path, mode);
    }

    [Fact]
    public async Task Should_stop_the_run_with_one_disk_full_error_when_the_coordinator_checkpoint_finds_the_disk_full()
    {
        using var system = Akka.Actor.ActorSystem.Create("reporter", TestTime.AkkaTestHocon);
        var run = RunDirectory.Create(_root, "fedactors {}", new DateTime(2026, 12, 8, 0, 0, 0, DateTimeKind.Utc));
        Directory.CreateDirectory(run.SnapshotsPath);
        var finished = new TaskCompletionSource<FedActors.Actors.Protocol.RunCompleted>(TaskCreationOptions.RunContinuationsAsynchronously);
        var reporter = system.ActorOf(RunReporter.Props(run, TextWriter.Null, 6, finished));

        reporter.Tell(new FedActors.Actors.Protocol.RunEvent(3, 1, FedActors.Actors.Protocol.RunEventKinds.StorageFull, null,
            "the coordinator's checkpoint after round 3 was not saved: No space left on device", 12.5), Akka.Actor.ActorRefs.NoSender);
        var e = await Assert.ThrowsAsync<DiskFullException>(() => finished.Task.Within(TimeSpan.FromSeconds(30), "the reporter failing the run"));

        Assert.Equal($"fedactors: disk full: cannot write {run.SnapshotsPath} (the coordinator's checkpoint after round 3 was not saved: No space left on device)",
            RunFailure.Describe(e).Message);
        Assert.Equal(1, RunFailure.Describe(e).ExitCode);
        await system.Terminate().Within(TimeSpan.FromSeconds(30), "the system stopping"); // events.jsonl closed
        Assert.Contains("\"storage-full\"", File.ReadAllText(Path.Combine(run.Path, RunDirectory.EventsFile)));
    }

    private sealed class UnopenableEvents(Exception failure) : RunFiles
    {
        protected override Stream Open(string path, FileMode mode) => Path.GetFileName(path) == RunDirectory.EventsFile ? throw failure : base.Open(path, mode);
    }

    [Fact]
    public async Task Should_fail_the_run_with_the_error_when_its_events_file_cannot_be_opened_instead_of_waiting_forever()
    {
        var runs = Path.Combine(_root, "no-events");
        var failure = new UnauthorizedAccessException("Access to the path 'events.jsonl' is denied.");

        var e = await Assert.ThrowsAsync<UnauthorizedAccessException>(() => RunCommand.ExecuteAsync(ExperimentConfig.Load(null, TinyRun.Overrides(runs, seed: 5, rounds: 2)),
            TextWriter.Null, files: new UnopenableEvents(failure)).Within(TimeSpan.FromMinutes(3), "the run whose events file cannot be opened"));

        Assert.Same(failure, e);
        Assert.Empty(Directory.GetFileSystemEntries(runs)); // failed before its first round: nothing left
    }

    // Global models kept only after the last round: no checkpoint write races the reporter's for the disk's last bytes.
    private static List<string> SixRounds(string runs) => [.. TinyRun.Overrides(runs, seed: 11, rounds: 6), "checkpoints.every=0"];

    [Fact]
    public async Task Should_stop_on_a_full_disk_with_one_error_naming_the_file_and_resume_to_the_uninterrupted_model()
    {
        var runs = Path.Combine(_root, "full");
        var disk = new FillingDisk(fullAfterRound: 3);
        var e = await Assert.ThrowsAsync<DiskFullException>(() => RunCommand.ExecuteAsync(ExperimentConfig.Load(null, SixRounds(runs)), TextWriter.Null, files: disk)
            .Within(TimeSpan.FromMinutes(3), "the run on a filling disk"));
        var runDir = Directory.GetDirectories(runs).Single();
        Assert.NotNull(disk.TornFile);
        Assert.Equal(disk.TornFile, e.FilePath);
        var (message, code) = RunFailure.Describe(e);
        Assert.Equal(1, code);
        Assert.Equal($"fedactors: disk full: cannot write {disk.TornFile} (No space left on device)", message);

        // Rows are appended, never rewritten in place: rounds 1 to 3 are all still there; nothing half-written is left aside.
        Assert.Equal(["1", "2", "3"], TinyRun.MetricsRounds(runDir));
        Assert.Empty(Directory.GetFiles(runDir, "*.tmp", SearchOption.AllDirectories));
        Assert.Empty(Directory.GetFiles(runDir, "*.partial", SearchOption.AllDirectories));
        Assert.Equal([message, "1"], File.ReadAllLines(Path.Combine(runDir, RunFailure.FileName)));
        // The torn file ends mid-line, as a real full disk leaves it.
        Assert.NotEqual('\n', File.ReadAllText(disk.TornFile!)[^1]);

        // Space freed: the real disk.
        var resumedOutput = new StringWriter();
        var resumed = await RunCommand.ResumeAsync(runDir, resumedOutput).Within(TimeSpan.FromMinutes(3), "the resumed run");
        var whole = await RunCommand.ExecuteAsync(ExperimentConfig.Load(null, SixRounds(Path.Combine(_root, "whole"))), TextWriter.Null)
            .Within(TimeSpan.FromMinutes(3), "the uninterrupted run");

        Assert.Contains($"warning: {Path.GetFileName(disk.TornFile)} ended in a torn line", resumedOutput.ToString());
        Assert.Equal(whole.Completed.FinalGlobal.ContentHash, resumed.Completed.FinalGlobal.ContentHash);
        Assert.Equal(
            File.ReadAllBytes(Path.Combine(whole.Directory.Path, RunDirectory.FinalWeightsFile)),
            File.ReadAllBytes(Path.Combine(runDir, RunDirectory.FinalWeightsFile)));
        Assert.Equal(["1", "2", "3", "4", "5", "6"], TinyRun.MetricsRounds(runDir));
        Assert.False(File.Exists(Path.Combine(runDir, RunFailure.FileName)));
        // Every line of every table whole again: as many fields as its header.
        foreach (var table in new[] { RunDirectory.MetricsFile, RunDirectory.TrafficFile, RunDirectory.AggregationFile })
        {
            var lines = File.ReadAllLines(Path.Combine(runDir, table));
            Assert.All(lines, l => Assert.Equal(lines[0].Split(',').Length, l.Split(',').Length));
        }
        Assert.All(File.ReadAllLines(Path.Combine(runDir, RunDirectory.EventsFile)), l => System.Text.Json.JsonDocument.Parse(l).Dispose());
    }

    [Fact]
    public void Should_name_a_real_full_device_as_disk_full()
    {
        // /dev/full answers every write with ENOSPC: the real operating system's error, as .NET reports it.
        var e = Assert.Throws<DiskFullException>(() => RunFiles.Default.Append("/dev/full", "round,1\n"));
        Assert.Equal("/dev/full", e.FilePath);
        Assert.True(DiskFullException.IsDiskFull(e.InnerException));
        Assert.False(DiskFullException.IsDiskFull(new IOException("Permission denied", 13)));
    }

    [Fact]
    public void Should_replace_a_file_whole_or_not_at_all()
    {
        var file = Path.Combine(_root, "aggregation.csv");
        File.WriteAllText(file, "round,hospital,weight,robust_factor\n1,hospital-01,0.5,\n");
        var disk = new FillingDisk(fullAfterRound: 0);
        // Full from the first write: the new text never replaces the old.
        disk.FillNow();
        Assert.Throws<DiskFullException>(() => disk.WriteAtomically(file, "round,hospital,weight,robust_factor\n"));
        Assert.Equal("round,hospital,weight,robust_factor\n1,hospital-01,0.5,\n", File.ReadAllText(file));
        Assert.Equal([file], Directory.GetFiles(_root));
    }

    [Theory]
    [InlineData("a,b\n1,2\n3,4", "a,b\n1,2\n", 3L)]
    [InlineData("a,b\n1,2\n", "a,b\n1,2\n", null)]
    [InlineData("a,b", "", 3L)]
    [InlineData("", "", null)]
    public void Should_drop_a_torn_last_line_and_only_that(string text, string kept, long? dropped)
    {
        var file = Path.Combine(_root, "t.csv");
        File.WriteAllText(file, text);
        Assert.Equal(dropped, RunDirectory.DropTornLine(file));
        Assert.Equal(kept, File.ReadAllText(file));
    }

    [Fact]
    public void Should_open_a_run_whose_events_and_metrics_end_in_torn_lines_dropping_them_with_a_warning()
    {
        var dir = Directory.CreateDirectory(Path.Combine(_root, "torn")).FullName;
        File.WriteAllText(Path.Combine(dir, RunDirectory.ResolvedConfigFile), "fedactors {}\n");
        var header = string.Join(',', RunDirectory.MetricsColumns) + "\n";
        File.WriteAllText(Path.Combine(dir, RunDirectory.MetricsFile), header + "1,4,4\n2,4");
        File.WriteAllText(Path.Combine(dir, RunDirectory.EventsFile), "{\"round\":1,\"kind\":\"selected\"}\n{\"round\":2,\"att");
        var warnings = new StringWriter();

        var run = RunDirectory.Open(dir, warnings);

        Assert.Equal($"warning: {RunDirectory.MetricsFile} ended in a torn line (3 bytes, a write cut short); dropped it\n" +
                     $"warning: {RunDirectory.EventsFile} ended in a torn line (15 bytes, a write cut short); dropped it\n", warnings.ToString().Replace("\r", ""));
        Assert.Equal(header + "1,4,4\n", File.ReadAllText(Path.Combine(dir, RunDirectory.MetricsFile)));
        Assert.Equal("{\"round\":1,\"kind\":\"selected\"}\n", File.ReadAllText(Path.Combine(dir, RunDirectory.EventsFile)));
        Assert.Equal(1, run.CompletedRounds());
    }

    [Fact]
    public async Task Should_leave_no_directory_when_a_run_fails_before_its_first_round_is_on_file()
    {
        var runs = Path.Combine(_root, "early");
        await Assert.ThrowsAsync<UnauthorizedAccessException>(() => RunCommand.ExecuteAsync(ExperimentConfig.Load(null, TinyRun.Overrides(runs, seed: 5)),
            TextWriter.Null, files: new FailingMetrics(round: 1, new UnauthorizedAccessException("denied"))).Within(TimeSpan.FromMinutes(3), "the failing run"));
        Assert.Empty(Directory.GetFileSystemEntries(runs));
    }

    [Fact]
    public async Task Should_mark_a_run_that_fails_after_a_round_with_the_error_line_and_exit_code()
    {
        var runs = Path.Combine(_root, "late");
        var failure = new InvalidOperationException("a fault of the program");
        var e = await Assert.ThrowsAsync<InvalidOperationException>(() => RunCommand.ExecuteAsync(ExperimentConfig.Load(null, TinyRun.Overrides(runs, seed: 5, rounds: 4)),
            TextWriter.Null, files: new FailingMetrics(round: 3, failure)).Within(TimeSpan.FromMinutes(3), "the failing run"));
        var runDir = Directory.GetDirectories(runs).Single();
        // The first line of what the command prints (the trace follows it there), then the exit code.
        Assert.Equal(["fedactors: run failed: System.InvalidOperationException: a fault of the program", "1"],
            File.ReadAllLines(Path.Combine(runDir, RunFailure.FileName)));
        Assert.Equal(["1", "2"], TinyRun.MetricsRounds(runDir));
        Assert.StartsWith("fedactors: run failed: System.InvalidOperationException: a fault of the program\n", RunFailure.Describe(e).Message.Replace("\r", ""));
    }

    public void Dispose() => Directory.Delete(_root, recursive: true);
}
