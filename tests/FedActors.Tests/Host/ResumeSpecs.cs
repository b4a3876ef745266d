using System.Diagnostics;
using FedActors.Host.Commands;
using FedActors.Host.Configuration;
using FedActors.Host.Runs;
using FedActors.Training.Weights;
using Xunit.Abstractions;

namespace FedActors.Tests.Host;

/// <summary><c>fedactors run --resume RUN_DIR</c>: a killed run finishes as if it had never stopped.</summary>
[Collection(InProcessRuns.Name)]
public sealed class ResumeSpecs(ITestOutputHelper output) : IDisposable
{
    private readonly string _runsRoot = Directory.CreateTempSubdirectory("fedactors-resume-").FullName;
    private Process? _process;

    // torch-threads stays 0 (libtorch's default, the same in both processes on one machine): a
    // thread count set here would change it for every spec running in this process.
    private static List<string> SixRounds(string runs) => TinyRun.Overrides(runs, seed: 7, rounds: 6);

    /// <summary>
    /// Starts the <c>fedactors</c> executable and, on the stdout line that contains <paramref name="fragment"/>, does
    /// <paramref name="atFragment"/> to it at once, on the thread that read the line; the task completes with whether the
    /// process was still running then. The line is read on a thread of its own rather than the thread pool's: the child
    /// goes on to its next rounds as it prints, and a pool busy with other specs could let it finish before the signal.
    /// </summary>
    private (Process Process, Task<bool> SignalledWhileRunning, Task OutputEnded, StringWriter Log) Launch(IEnumerable<string> args, string fragment, Action<Process> atFragment)
    {
        // Through env(1) with SIGINT reset to its default: a suite started in the background (`cmd &`, nohup) runs with
        // SIGINT ignored, children inherit that, and .NET never handles a SIGINT that was ignored when it started.
        var info = new ProcessStartInfo("env") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        info.ArgumentList.Add("--default-signal=INT");
        info.ArgumentList.Add("dotnet");
        info.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "fedactors.dll"));
        foreach (var a in args) info.ArgumentList.Add(a);
        var signalled = new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously);
        var ended = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var log = new StringWriter();
        var process = _process = new Process { StartInfo = info };
        process.ErrorDataReceived += (_, e) => { lock (log) log.WriteLine(e.Data); };
        process.Start();
        process.BeginErrorReadLine();
        new Thread(() =>
        {
            while (process.StandardOutput.ReadLine() is { } line)
            {
                lock (log) log.WriteLine(line);
                if (signalled.Task.IsCompleted || !line.Contains(fragment)) continue;
                var running = !process.HasExited;
                if (running) atFragment(process);
                signalled.TrySetResult(running);
            }
            signalled.TrySetException(new InvalidOperationException($"fedactors closed its output before '{fragment}':\n{log}"));
            ended.TrySetResult();
        }) { IsBackground = true, Name = "fedactors-stdout" }.Start();
        return (process, signalled.Task, ended.Task, log);
    }

    [Fact]
    public async Task Should_finish_a_killed_run_with_the_weights_and_metrics_of_an_uninterrupted_one()
    {
        var killedRoot = Path.Combine(_runsRoot, "killed");
        // SIGKILL: no chance to write anything more.
        var (process, killed, _, log) = Launch(["run", .. TinyRun.Arguments(SixRounds(killedRoot))], "round 3/6", p => p.Kill());
        Assert.True(await killed.Within(TimeSpan.FromMinutes(3), "the killed run's process reporting round 3"), $"the run ended before it could be killed:\n{log}");
        await process.WaitForExitAsync().Within(TimeSpan.FromMinutes(1), "the killed process exiting");
        var runDir = Directory.GetDirectories(killedRoot).Single();
        Assert.False(File.Exists(Path.Combine(runDir, RunDirectory.FinalWeightsFile)));
        var eventsBefore = File.ReadAllLines(Path.Combine(runDir, RunDirectory.EventsFile)).Length;
        Assert.True(eventsBefore > 0);

        var resumedOutput = new StringWriter();
        var resumed = await RunCommand.ResumeAsync(runDir, resumedOutput).Within(TimeSpan.FromMinutes(3), "the resumed run");
        var uninterrupted = await RunCommand.ExecuteAsync(ExperimentConfig.Load(null, SixRounds(Path.Combine(_runsRoot, "whole"))), TextWriter.Null).Within(TimeSpan.FromMinutes(3), "the run");

        Assert.Equal(runDir, resumed.Directory.Path);
        Assert.Matches(@"resumed: continuing from round [3-6]/6", resumedOutput.ToString());
        output.WriteLine($"killed process:\n{log}\nresumed:\n{resumedOutput}");
        Assert.Equal(["1", "2", "3", "4", "5", "6"], TinyRun.MetricsRounds(runDir));
        // Round by round the same global models, so a difference names the first round it appears in.
        var hash = Array.IndexOf(RunDirectory.MetricsColumns, "global_hash");
        Assert.Equal(
            File.ReadLines(Path.Combine(uninterrupted.Directory.Path, RunDirectory.MetricsFile)).Select(l => l.Split(',')[hash]),
            File.ReadLines(Path.Combine(runDir, RunDirectory.MetricsFile)).Select(l => l.Split(',')[hash]));
        Assert.Equal(
            File.ReadAllBytes(Path.Combine(uninterrupted.Directory.Path, RunDirectory.FinalWeightsFile)),
            File.ReadAllBytes(Path.Combine(runDir, RunDirectory.FinalWeightsFile)));
        Assert.Equal(uninterrupted.Completed.FinalGlobal.ContentHash, ModelWeights.Load(Path.Combine(runDir, RunDirectory.FinalWeightsFile)).ContentHash);
        // events.jsonl is appended to: the killed process's lines stay, the recovery follows them.
        var events = File.ReadAllLines(Path.Combine(runDir, RunDirectory.EventsFile));
        Assert.Contains("\"kind\":\"coordinator-recovered\"", events[eventsBefore]);
    }

    [Theory]
    [InlineData(SigInt, FedActors.Host.Program.Interrupted)] // Ctrl+C
    [InlineData(SigTerm, FedActors.Host.Program.Terminated)] // Slurm, systemd, timeout(1)
    public async Task Should_stop_at_a_signal_with_its_exit_code_and_resume_to_the_uninterrupted_result(int signal, int exitCode)
    {
        var root = Path.Combine(_runsRoot, $"signal-{signal}");
        // Straight from this process: spawning kill(1) on a loaded machine can take longer than the rest of the run.
        var sent = -1;
        var (process, signalled, outputEnded, log) = Launch(["run", .. TinyRun.Arguments(SixRounds(root))], "round 1/6", p => sent = Kill(p.Id, signal));
        Assert.True(await signalled.Within(TimeSpan.FromMinutes(3), "the signalled run's process reporting round 1"), $"the run ended before the signal:\n{log}");
        Assert.Equal(0, sent);
        // Once exited, with its output read to the end.
        await process.WaitForExitAsync().Within(TimeSpan.FromMinutes(2), $"fedactors stopping after signal {signal}");
        await outputEnded.Within(TimeSpan.FromMinutes(1), "fedactors' output read to its end");

        var runDir = Directory.GetDirectories(root).Single();
        Assert.True(process.ExitCode == exitCode, $"exit code {process.ExitCode}:\n{log}");
        Assert.Matches($@"interrupted after round [1-5]; continue with: fedactors run --resume {System.Text.RegularExpressions.Regex.Escape(runDir)}", log.ToString());
        Assert.False(File.Exists(Path.Combine(runDir, RunFailure.FileName))); // interrupted, not failed
        var resumed = await RunCommand.ResumeAsync(runDir, TextWriter.Null).Within(TimeSpan.FromMinutes(3), "the resumed run");
        var uninterrupted = await RunCommand.ExecuteAsync(ExperimentConfig.Load(null, SixRounds(Path.Combine(_runsRoot, "straight"))), TextWriter.Null).Within(TimeSpan.FromMinutes(3), "the run");
        Assert.Equal(uninterrupted.Completed.FinalGlobal.ContentHash, resumed.Completed.FinalGlobal.ContentHash);
        Assert.Equal(["1", "2", "3", "4", "5", "6"], TinyRun.MetricsRounds(runDir));
    }

    [Fact]
    public async Task Should_exit_143_promptly_at_sigterm_during_setup_and_leave_nothing_behind()
    {
        var root = Path.Combine(_runsRoot, "setup");
        // 120,000 synthetic images: setup alone takes tens of seconds here (minutes on a loaded machine); the signal comes as it begins.
        var big = new List<string>(TinyRun.Overrides(root, seed: 7)) { "data.hospitals=60", "data.train-images-per-hospital=2000", "data.image-size=32" };
        var sent = -1;
        var (process, signalled, outputEnded, log) = Launch(["run", .. TinyRun.Arguments(big)], "setting up:", p => sent = Kill(p.Id, SigTerm));
        Assert.True(await signalled.Within(TimeSpan.FromMinutes(2), "fedactors reporting its setup"), $"fedactors ended before setup:\n{log}");
        Assert.Equal(0, sent);
        // Far less than the setup itself would take: setup is left, not finished.
        await process.WaitForExitAsync().Within(TimeSpan.FromSeconds(30), "fedactors exiting after SIGTERM during setup");
        await outputEnded.Within(TimeSpan.FromMinutes(1), "fedactors' output read to its end");

        Assert.True(process.ExitCode == FedActors.Host.Program.Terminated, $"exit code {process.ExitCode}:\n{log}");
        Assert.DoesNotContain("FedActors run:", log.ToString()); // the line printed once setup is done
        Assert.Contains("interrupted before round 1 completed; nothing was kept", log.ToString());
        Assert.True(!Directory.Exists(root) || !Directory.EnumerateFileSystemEntries(root).Any(), $"left behind: {string.Join(", ", Directory.GetFileSystemEntries(root))}");
    }

    [Fact]
    public async Task Should_answer_at_once_when_the_run_had_already_completed()
    {
        var first = await RunCommand.ExecuteAsync(ExperimentConfig.Load(null, TinyRun.Overrides(_runsRoot, seed: 3)), TextWriter.Null).Within(TimeSpan.FromMinutes(3), "the run");
        var output = new StringWriter();
        var again = await RunCommand.ResumeAsync(first.Directory.Path, output).Within(TimeSpan.FromMinutes(3), "the resumed run");

        Assert.Contains("resumed: all 2 rounds had already completed", output.ToString());
        Assert.DoesNotContain("round 1/2", output.ToString());
        Assert.Equal(first.Completed.FinalGlobal.ContentHash, again.Completed.FinalGlobal.ContentHash);
        Assert.Equal(["1", "2"], TinyRun.MetricsRounds(first.Directory.Path));
    }

    [Fact]
    public async Task Should_exit_two_for_a_resume_combined_with_a_config_or_of_a_directory_that_is_no_run()
    {
        var notARun = Directory.CreateDirectory(Path.Combine(_runsRoot, "empty")).FullName;
        Assert.Equal(FedActors.Host.Program.UsageError, await FedActors.Host.Program.Main(["run", "--resume", notARun, "--set", "seed=3"]).Within(TimeSpan.FromMinutes(1), "fedactors' answer"));
        Assert.Equal(FedActors.Host.Program.UsageError, await FedActors.Host.Program.Main(["run", "exp.conf", "--resume", notARun]).Within(TimeSpan.FromMinutes(1), "fedactors' answer"));
        Assert.Equal(FedActors.Host.Program.UsageError, await FedActors.Host.Program.Main(["run", "--resume"]).Within(TimeSpan.FromMinutes(1), "fedactors' answer"));
        Assert.Equal(FedActors.Host.Program.UsageError, await FedActors.Host.Program.Main(["run", "--resume", notARun]).Within(TimeSpan.FromMinutes(1), "fedactors' answer"));
        Assert.Equal(FedActors.Host.Program.UsageError, await FedActors.Host.Program.Main(["run", "--resume", Path.Combine(_runsRoot, "missing")]).Within(TimeSpan.FromMinutes(1), "fedactors' answer"));

        var e = await Assert.ThrowsAsync<ConfigError>(() => RunCommand.ResumeAsync(notARun, TextWriter.Null));
        Assert.Contains(notARun, e.Message);
        Assert.Contains(RunDirectory.ResolvedConfigFile, e.Message);
    }

    public void Dispose()
    {
        if (_process is { HasExited: false }) _process.Kill(entireProcessTree: true);
        _process?.Dispose();
        Directory.Delete(_runsRoot, recursive: true);
    }

    private const int SigInt = 2;
    private const int SigTerm = 15;

    [System.Runtime.InteropServices.DllImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static extern int Kill(int pid, int signal);
}
