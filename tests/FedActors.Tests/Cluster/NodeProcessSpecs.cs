using System.Diagnostics;
using FedActors.Host.Runs;

namespace FedActors.Tests.Cluster;

/// <summary>The real <c>fedactors node</c> executable, as separate OS processes on loopback.</summary>
public sealed class NodeProcessSpecs : IDisposable
{
    private readonly List<Process> _processes = new();
    private readonly string _runs = Directory.CreateTempSubdirectory("fedactors-node-runs-").FullName;

    private List<string> Experiment() =>
    [
        "--set", "data.hospitals=4", "--set", "data.train-images-per-hospital=32", "--set", "data.test-images-per-hospital=16",
        "--set", "data.image-size=16", "--set", "model.encoder-widths=[8,8,16,16]", "--set", "model.projection-dim=16",
        "--set", "moco.queue-size=32", "--set", "moco.batch-size=8", "--set", "rounds.count=4", "--set", "rounds.min-participants=4",
        "--set", "rounds.timeout=3m", "--set", "rounds.resend-interval=3s", "--set", "probe.steps=30", "--set", "cluster.min-workers=2",
        "--set", "cluster.stable-after=3s", "--set", "torch-threads=1", "--set", $"runs-dir=\"{_runs}\"",
    ];

    private (Process Process, StringWriterWithSignal Output) Start(params string[] nodeArgs) => Start(nodeArgs, []);

    private (Process Process, StringWriterWithSignal Output) Start(string[] nodeArgs, string[] overrides)
    {
        var info = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        info.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "fedactors.dll"));
        info.ArgumentList.Add("node");
        foreach (var a in nodeArgs.Concat(Experiment()).Concat(overrides.SelectMany(o => new[] { "--set", o }))) info.ArgumentList.Add(a);
        var output = new StringWriterWithSignal();
        var process = new Process { StartInfo = info };
        process.ErrorDataReceived += (_, e) => output.Line(e.Data);
        process.Start();
        process.BeginErrorReadLine();
        output.ReadFrom(process.StandardOutput);
        _processes.Add(process);
        return (process, output);
    }

    [Fact]
    public async Task Should_complete_every_round_after_a_worker_process_is_killed()
    {
        var (coordinator, coordinatorOutput) = Start("--roles", "coordinator", "--port", "0");
        var seed = await SeedAddress(coordinatorOutput);
        var (doomed, _) = Start("--roles", "worker", "--seed", seed);
        var (survivor, _) = Start("--roles", "worker", "--seed", seed);

        var runStillGoing = false;
        // SIGKILL (no goodbye to the cluster) on the coordinator's round-1 line, as it is read.
        await coordinatorOutput.At("round 1/4", () => { runStillGoing = !coordinator.HasExited; doomed.Kill(); }).Within(TimeSpan.FromMinutes(3), "the coordinator reporting round 1");
        Assert.True(runStillGoing, $"the run ended before the worker could be killed:\n{coordinatorOutput}");
        await coordinator.WaitForExitAsync().Within(TimeSpan.FromMinutes(4), "the coordinator process finishing the run");

        AssertEveryRoundAggregatedAll(coordinator, coordinatorOutput);
        Assert.True(survivor.WaitForExit(TestTime.Dilated(TimeSpan.FromSeconds(60))), "the surviving worker did not leave after the run");
    }

    [Fact]
    public async Task Should_complete_every_round_when_the_fault_plan_kills_a_named_worker_process()
    {
        string[] plan = ["faults.events=[{ kind = crash-worker, node = doomed, round = 2 }]"];
        var (coordinator, coordinatorOutput) = Start(["--roles", "coordinator", "--port", "0"], plan);
        var seed = await SeedAddress(coordinatorOutput);
        var (doomed, _) = Start(["--roles", "worker", "--seed", seed, "--name", "doomed"], plan);
        var (survivor, _) = Start(["--roles", "worker", "--seed", seed, "--name", "survivor"], plan);

        await coordinator.WaitForExitAsync().Within(TimeSpan.FromMinutes(5), "the coordinator process finishing the run");

        var runDir = AssertEveryRoundAggregatedAll(coordinator, coordinatorOutput);
        Assert.True(doomed.HasExited, "the worker the plan crashed is still running");
        Assert.NotEqual(0, doomed.ExitCode);
        var events = File.ReadAllLines(Path.Combine(runDir, RunDirectory.EventsFile));
        Assert.Contains(events, l => l.Contains("\"worker-crash\"") && l.Contains("scripted crash of worker 'doomed'") && l.Contains("\"round\":2"));
        Assert.True(survivor.WaitForExit(TestTime.Dilated(TimeSpan.FromSeconds(60))), "the surviving worker did not leave after the run");
    }

    [Fact]
    public async Task Should_finish_the_run_on_the_standby_coordinator_process_when_the_first_is_killed()
    {
        string[] slower = ["data.train-images-per-hospital=192"]; // rounds of a second or more, so the kill lands mid-run
        var (first, firstOutput) = Start(["--roles", "coordinator", "--port", "0"], slower);
        var seed = await SeedAddress(firstOutput);
        await firstOutput.WaitFor("waiting for", TimeSpan.FromMinutes(2)); // up: the standby joins after it, so it is the younger
        var (standby, standbyOutput) = Start(["--roles", "coordinator,worker", "--seed", seed], slower);
        var (worker, _) = Start(["--roles", "worker", "--seed", seed], slower);

        await standbyOutput.WaitFor("standing by", TimeSpan.FromMinutes(3));
        var runStillGoing = false;
        // SIGKILL (the singleton must move) on the first coordinator's round-2 line, as it is read.
        await firstOutput.At("round 2/4", () => { runStillGoing = !first.HasExited; first.Kill(); }).Within(TimeSpan.FromMinutes(3), "the first coordinator reporting round 2");
        Assert.True(runStillGoing, $"the first coordinator ended the run before it could be killed:\n{firstOutput}");
        if (!standby.WaitForExit(TestTime.Dilated(TimeSpan.FromMinutes(4)))) throw new TimeoutException($"the standby did not finish the run:\n{standbyOutput}");
        await standbyOutput.Ended.Within(TimeSpan.FromMinutes(1), "the standby's output read to its end");

        Assert.Contains("this node now hosts the round coordinator", standbyOutput.ToString());
        var runDir = AssertEveryRoundAggregatedAll(standby, standbyOutput);
        Assert.True(File.Exists(Path.Combine(runDir, RunDirectory.FinalWeightsFile)));
        var recovered = File.ReadAllLines(Path.Combine(runDir, RunDirectory.EventsFile)).Where(l => l.Contains("\"coordinator-recovered\"")).ToList();
        Assert.Single(recovered);
        Assert.Matches("\"round\":[234],", recovered[0]); // killed mid-run, after round 2 closed: continued from its checkpoint or a later one
        // Every round's global is in checkpoints/, the one the killed node closed last included.
        Assert.All(Enumerable.Range(1, 4), r => Assert.True(File.Exists(Path.Combine(runDir, RunDirectory.CheckpointsDirectory, CheckpointWriter.FileName(r))),
            $"no checkpoint of round {r}"));
        Assert.True(worker.WaitForExit(TestTime.Dilated(TimeSpan.FromSeconds(60))), "the worker did not leave after the run");
    }

    [Fact]
    public async Task Should_run_every_round_on_node_processes_that_find_each_other_through_config_discovery_without_seeds()
    {
        // Each process on its own loopback address and the same management port, as pods on their own IPs (see ClusterDiscoverySpecs).
        string[] hosts = ["127.27.2.1", "127.27.2.2", "127.27.2.3"];
        string[] discovery = ["cluster.discovery=config", "cluster.required-contact-points=3",
            $"cluster.discovery-endpoints=[{string.Join(", ", hosts.Select(h => $"\"{h}:8558\""))}]"];
        using var http = new HttpClient { Timeout = TestTime.Dilated(TimeSpan.FromSeconds(10)) };
        async Task<(int Status, string Body)> Get(string host, string path)
        {
            using var response = await http.GetAsync($"http://{host}:8558{path}");
            return ((int)response.StatusCode, await response.Content.ReadAsStringAsync());
        }

        var (coordinator, coordinatorOutput) = Start(["--roles", "coordinator", "--hostname", hosts[0], "--port", "0"], discovery);
        await coordinatorOutput.WaitFor(" up with roles", TimeSpan.FromMinutes(2));
        Assert.Contains($"discovery config (management http://{hosts[0]}:8558/)", coordinatorOutput.ToString());
        // Alone, it waits for the other two contact points: alive, not ready.
        Assert.Equal(200, (await Get(hosts[0], "/alive")).Status);
        Assert.Equal(503, (await Get(hosts[0], "/ready")).Status);
        var (workerA, workerAOutput) = Start(["--roles", "worker", "--hostname", hosts[1], "--port", "0"], discovery);
        var (workerB, workerBOutput) = Start(["--roles", "worker", "--hostname", hosts[2], "--port", "0"], discovery);

        await coordinator.WaitForExitAsync().Within(TimeSpan.FromMinutes(5), "the coordinator process finishing the run");

        AssertEveryRoundAggregatedAll(coordinator, coordinatorOutput);
        Assert.DoesNotContain("--seed", string.Join(' ', coordinator.StartInfo.ArgumentList));
        Assert.Contains($"discovery config (management http://{hosts[1]}:8558/)", workerAOutput.ToString());
        Assert.True(workerA.WaitForExit(TestTime.Dilated(TimeSpan.FromSeconds(60))), "a worker did not leave after the run");
        Assert.True(workerB.WaitForExit(TestTime.Dilated(TimeSpan.FromSeconds(60))), "a worker did not leave after the run");
        await Task.WhenAll(coordinatorOutput.Ended, workerAOutput.Ended, workerBOutput.Ended).Within(TimeSpan.FromMinutes(1), "every node's output read to its end");
        AssertNoErrorLine(coordinatorOutput, workerAOutput, workerBOutput);
    }

    [Fact]
    public async Task Should_run_every_round_over_mutual_tls_with_a_certificate_per_node_and_one_default_run_id()
    {
        var tls = Path.Combine(_runs, "tls");
        FedActors.Actors.Cluster.ClusterCertificates.Create(tls, 1, 3, TimeSpan.FromDays(1), "process-spec", null, DateTimeOffset.UtcNow);
        string[] Node(int n) => [$"cluster.tls-certificate=\"{Path.Combine(tls, $"node-0{n}.pfx")}\"", $"cluster.tls-authority=\"{Path.Combine(tls, "ca.crt")}\""];
        var (coordinator, coordinatorOutput) = Start(["--roles", "coordinator", "--port", "0"], Node(1));
        var seed = await SeedAddress(coordinatorOutput);
        Assert.StartsWith("akka.ssl.tcp://", seed);
        // Written akka.tcp://, as the Slurm and Kubernetes scripts do: over TLS the node dials akka.ssl.tcp://.
        var (workerA, workerAOutput) = Start(["--roles", "worker", "--seed", seed.Replace("akka.ssl.tcp://", "akka.tcp://")], Node(2));
        var (workerB, workerBOutput) = Start(["--roles", "worker", "--seed", seed], Node(3));

        await coordinator.WaitForExitAsync().Within(TimeSpan.FromMinutes(5), "the coordinator process finishing the run over TLS");

        AssertEveryRoundAggregatedAll(coordinator, coordinatorOutput); // the workers' own certificates did not split the default run id
        Assert.DoesNotContain("warning: no TLS", coordinatorOutput.ToString());
        Assert.True(workerA.WaitForExit(TestTime.Dilated(TimeSpan.FromSeconds(60))), "a worker did not leave after the run");
        Assert.True(workerB.WaitForExit(TestTime.Dilated(TimeSpan.FromSeconds(60))), "a worker did not leave after the run");
        await Task.WhenAll(coordinatorOutput.Ended, workerAOutput.Ended, workerBOutput.Ended).Within(TimeSpan.FromMinutes(1), "every node's output read to its end");
        // Weights crossed the bulk channel over TLS too: no refused handshake, no fallback to chunks over remoting.
        foreach (var output in new[] { coordinatorOutput, workerAOutput, workerBOutput })
        {
            Assert.DoesNotContain("fetching them in chunks", output.ToString());
            Assert.DoesNotContain("refused a connection", output.ToString());
        }
        AssertNoErrorLine(coordinatorOutput, workerAOutput, workerBOutput);
    }

    [Fact]
    public async Task Should_stop_a_node_the_cluster_refuses_with_the_reason_and_exit_code_2()
    {
        var (_, coordinatorOutput) = Start("--roles", "coordinator", "--port", "0");
        var seed = await SeedAddress(coordinatorOutput);
        await coordinatorOutput.WaitFor("waiting for", TimeSpan.FromMinutes(2));

        var (stranger, strangerOutput) = Start("--roles", "worker", "--seed", seed, "--run-id", "another-run");
        await stranger.WaitForExitAsync().Within(TimeSpan.FromMinutes(2), "the refused node stopping");
        await strangerOutput.Ended.Within(TimeSpan.FromMinutes(1), "the refused node's output read to its end");

        Assert.True(stranger.ExitCode == 2, $"the refused node exited {stranger.ExitCode}:\n{strangerOutput}");
        Assert.Contains("this node was refused by cluster member akka.tcp://", strangerOutput.ToString());
        Assert.Contains("it runs run id 'another-run'", strangerOutput.ToString());
        Assert.DoesNotContain("node left the cluster", strangerOutput.ToString());
    }

    [Fact]
    public async Task Should_mark_a_run_the_coordinator_node_fails_with_failed_txt_as_fedactors_run_does()
    {
        // events.jsonl taken by a directory: the run fails at its first event, inside the rounds.
        Directory.CreateDirectory(Path.Combine(_runs, "doomed-run", RunDirectory.EventsFile));
        var (node, output) = Start(["--roles", "coordinator,worker", "--port", "0", "--run-id", "doomed-run"], ["cluster.min-workers=1"]);

        await node.WaitForExitAsync().Within(TimeSpan.FromMinutes(3), "the node failing its run");
        await output.Ended.Within(TimeSpan.FromMinutes(1), "the node's output read to its end");

        Assert.True(node.ExitCode == 1, $"the node exited {node.ExitCode}:\n{output}");
        var failed = File.ReadAllLines(Path.Combine(_runs, "doomed-run", RunFailure.FileName));
        Assert.Equal(2, failed.Length);
        Assert.StartsWith("fedactors: run failed: ", failed[0]);
        Assert.Contains(RunDirectory.EventsFile, failed[0]);
        Assert.Equal("1", failed[1]);
        Assert.Equal(RunStatus.Failed, RunStatus.Of(Path.Combine(_runs, "doomed-run")));
    }

    [Fact]
    public async Task Should_refuse_a_seed_together_with_discovery_naming_the_key()
    {
        var (node, output) = Start(["--roles", "worker", "--seed", "akka.tcp://fedactors@127.0.0.1:4053"],
            ["cluster.discovery=config", "cluster.discovery-endpoints=[\"127.0.0.1:8558\", \"127.0.0.2:8558\"]"]);
        await node.WaitForExitAsync().Within(TimeSpan.FromMinutes(2), "the node refusing its arguments");
        await output.Ended.Within(TimeSpan.FromMinutes(1), "the node's output read to its end");
        Assert.Equal(2, node.ExitCode);
        Assert.Contains("--seed and fedactors.cluster.discovery = config exclude each other", output.ToString());
    }

    /// <summary>
    /// The address a seed node started with <c>--port 0</c> bound, from its "up" line: the port is the system's choice,
    /// so no other test can take it between choosing and binding.
    /// </summary>
    private static async Task<string> SeedAddress(StringWriterWithSignal output)
    {
        await output.WaitFor(" up with roles", TimeSpan.FromMinutes(2));
        var line = output.ToString().Split('\n').First(l => l.Contains(" up with roles", StringComparison.Ordinal));
        return System.Text.RegularExpressions.Regex.Match(line, @"^node (akka(\.ssl)?\.tcp://\S+) up").Groups[1].Value is { Length: > 0 } address
            ? address
            : throw new InvalidOperationException($"no address in the seed's up line: {line}");
    }

    /// <summary>A clean run, start to leaving, logs no ERROR on any node.</summary>
    private static void AssertNoErrorLine(params StringWriterWithSignal[] outputs)
    {
        var errors = outputs.SelectMany(o => o.ToString().Split('\n')).Where(l => l.StartsWith("[ERROR]", StringComparison.Ordinal)).ToList();
        Assert.True(errors.Count == 0, $"a clean run logged {errors.Count} ERROR line(s):\n{string.Join("\n", errors)}");
    }

    /// <returns>The run directory.</returns>
    private string AssertEveryRoundAggregatedAll(Process coordinator, StringWriterWithSignal coordinatorOutput)
    {
        Assert.True(coordinator.ExitCode == 0, $"coordinator exited {coordinator.ExitCode}:\n{coordinatorOutput}");
        var runDir = Directory.GetDirectories(_runs).Single(d => File.Exists(Path.Combine(d, RunDirectory.MetricsFile)));
        var rows = File.ReadAllLines(Path.Combine(runDir, RunDirectory.MetricsFile)).Skip(1).Select(l => l.Split(',')).ToList();
        Assert.Equal(["1", "2", "3", "4"], rows.Select(r => r[0]));
        var aggregated = Array.IndexOf(RunDirectory.MetricsColumns, "aggregated");
        Assert.All(rows, r => Assert.Equal("4", r[aggregated]));
        return runDir;
    }

    public void Dispose()
    {
        foreach (var p in _processes)
        {
            try { if (!p.HasExited) p.Kill(entireProcessTree: true); } catch (InvalidOperationException) { }
            p.Dispose();
        }
        Directory.Delete(_runs, recursive: true);
    }

    /// <summary>
    /// Collects a process's lines and lets a spec wait for one: the line that arrives completes the wait, and an action
    /// tied to it runs at once on the thread that read it. Standard output is read on a thread of its own rather than
    /// the thread pool's: the child goes on as it prints, and a pool busy with other specs could let it finish first.
    /// </summary>
    private sealed class StringWriterWithSignal
    {
        private readonly List<string> _lines = new();
        private readonly List<(string Fragment, TaskCompletionSource Seen, Action? Act)> _waiting = new();
        private readonly object _gate = new();
        private readonly TaskCompletionSource _ended = new(TaskCreationOptions.RunContinuationsAsynchronously);

        /// <summary>Completes once standard output has been read to its end.</summary>
        public Task Ended => _ended.Task;

        public void ReadFrom(StreamReader output) => new Thread(() =>
        {
            while (output.ReadLine() is { } line) Line(line);
            _ended.TrySetResult();
        }) { IsBackground = true, Name = "fedactors-node-stdout" }.Start();

        /// <summary>Runs <paramref name="act"/> on the line with <paramref name="fragment"/> as it is read (at once if it came already); completes then.</summary>
        public Task At(string fragment, Action act)
        {
            var seen = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            lock (_gate)
            {
                if (_lines.Any(l => l.Contains(fragment)))
                {
                    act();
                    seen.TrySetResult();
                }
                else _waiting.Add((fragment, seen, act));
            }
            return seen.Task;
        }

        public void Line(string? line)
        {
            if (line is null) return;
            lock (_gate)
            {
                _lines.Add(line);
                foreach (var w in _waiting.Where(w => line.Contains(w.Fragment)).ToList())
                {
                    w.Act?.Invoke();
                    w.Seen.TrySetResult();
                    _waiting.Remove(w);
                }
            }
        }

        /// <summary>Completes once a line with <paramref name="fragment"/> has come; fails past <paramref name="timeout"/> (dilated), with the output so far.</summary>
        public async Task WaitFor(string fragment, TimeSpan timeout)
        {
            var seen = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            lock (_gate)
            {
                if (_lines.Any(l => l.Contains(fragment))) return;
                _waiting.Add((fragment, seen, null));
            }
            try { await seen.Task.WaitAsync(TestTime.Dilated(timeout)); }
            catch (TimeoutException) { throw new TimeoutException($"no line with '{fragment}' within {TestTime.Dilated(timeout)}:\n{this}"); }
        }

        public override string ToString() { lock (_gate) return string.Join('\n', _lines); }
    }
}
