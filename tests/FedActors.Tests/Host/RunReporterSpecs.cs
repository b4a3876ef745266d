using System.Text.Json;
using Akka.Actor;
using FedActors.Actors.Protocol;
using FedActors.Host.Runs;
using FedActors.Training.Weights;
using Xunit.Abstractions;

namespace FedActors.Tests.Host;

/// <summary>The reporter writes events.jsonl line by line and keeps metrics.csv at one row per round.</summary>
public sealed class RunReporterSpecs(ITestOutputHelper output) : Akka.TestKit.Xunit2.TestKit(TestTime.AkkaTestHocon, output), IDisposable
{
    private readonly string _runs = Directory.CreateTempSubdirectory("fedactors-reporter-").FullName;

    private static RoundSummary Round(int round, string hash = "h") =>
        new()
        {
            Round = round, Selected = ["hospital-01", "hospital-02"], Accepted = ["hospital-01"], Aggregated = ["hospital-01"], Dropped = ["hospital-02"],
            MeanLoss = 1.5, BytesDown = 10, BytesUp = 5, WallSeconds = 0.25, GlobalHash = $"{hash}{round}",
            SimulatedSeconds = 3.5, SimulatedClock = 3.5 * round, DuplicateReplies = 1, Attempts = 2,
        };

    private (RunDirectory Run, IActorRef Reporter, StringWriter Output, TaskCompletionSource<RunCompleted> Finished) Start(bool resumed, params int[] roundsOnFile)
    {
        var run = RunDirectory.Create(_runs, "fedactors {}", DateTime.UtcNow);
        foreach (var r in roundsOnFile) run.AppendMetrics(Round(r, "old"));
        var text = new StringWriter();
        var finished = new TaskCompletionSource<RunCompleted>();
        return (run, Sys.ActorOf(RunReporter.Props(run, TextWriter.Synchronized(text), 4, finished, resumed)), text, finished);
    }

    private static string[] EventLines(RunDirectory run)
    {
        using var reader = new StreamReader(new FileStream(Path.Combine(run.Path, RunDirectory.EventsFile), FileMode.Open, FileAccess.Read, FileShare.ReadWrite));
        return reader.ReadToEnd().Split('\n', StringSplitOptions.RemoveEmptyEntries);
    }

    [Fact]
    public void Should_show_a_terminal_the_round_bar_the_hospitals_of_the_open_round_and_the_time_left()
    {
        var terminal = new StringWriter();
        var live = new LiveProgress(terminal, totalRounds: 4, width: 8);
        live.Update(new RoundProgress(1, 1, 6, 6, 0, 0));
        Assert.Equal("round 1/4 [........]  training 6  done 0  dropped 0  of 6  ETA …", live.Render());

        live.RoundClosed(Round(1) with { WallSeconds = 10, MeanLoss = 0.5 });
        live.Permanent("round 1/4  participants 1/2 ...");
        live.Update(new RoundProgress(2, 1, 6, 3, 2, 1));

        // 1 of 4 rounds done: 2 of 8 marks; 3 rounds left at 10 s each.
        Assert.Equal("round 2/4 [##......]  training 3  done 2  dropped 1  of 6  loss 0.5000  ETA 30s", live.Render());
        // The permanent line is written on a cleared line, never into the status line.
        Assert.Contains("\r\u001b[2Kround 1/4  participants 1/2 ...\n", terminal.ToString().Replace("\r\n", "\n"), StringComparison.Ordinal);
        Assert.Equal("1h01m", LiveProgress.Duration(3660));
        Assert.Equal("2m05s", LiveProgress.Duration(125));
    }

    [Fact]
    public async Task Should_print_exactly_one_line_per_round_when_output_is_not_a_terminal()
    {
        var (_, reporter, text, finished) = Start(resumed: false);
        reporter.Tell(new RoundProgress(1, 1, 2, 2, 0, 0));
        reporter.Tell(new RoundClosed(Round(1)));
        reporter.Tell(new RoundProgress(2, 1, 2, 1, 1, 0));
        reporter.Tell(new RoundClosed(Round(2)));
        reporter.Tell(new RunCompleted(new ModelWeights([]), [Round(1), Round(2)]));
        await finished.Task.Within(TimeSpan.FromSeconds(10), "the reporter finishing the run");

        var lines = text.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(["round 1/4", "round 2/4"], lines.Select(l => l[..9]));
        Assert.DoesNotContain("\u001b", text.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public void Should_write_one_events_line_per_run_event_while_the_run_goes_on()
    {
        var (run, reporter, _, _) = Start(resumed: false);
        reporter.Tell(new RunEvent(1, 1, RunEventKinds.Selected, "hospital-01", "selected", 0));
        reporter.Tell(new RunEvent(1, 2, RunEventKinds.Dropped, "hospital-02", "scripted drop before training", 1.25));
        reporter.Tell(new RunEvent(1, 2, RunEventKinds.RoundSkipped, null, "0 of the 1 updates required", double.PositiveInfinity));

        // Read while the reporter still runs: every line is on disk as soon as it is written.
        AwaitAssert(() => Assert.Equal(3, EventLines(run).Length));
        var events = EventLines(run).Select(l => JsonDocument.Parse(l).RootElement).ToList();
        Assert.All(events, e => Assert.Equal(["round", "attempt", "kind", "hospital", "reason", "sim_s"], e.EnumerateObject().Select(p => p.Name)));
        Assert.Equal("hospital-02", events[1].GetProperty("hospital").GetString());
        Assert.Equal(2, events[1].GetProperty("attempt").GetInt32());
        Assert.Equal("scripted drop before training", events[1].GetProperty("reason").GetString());
        Assert.Equal(1.25, events[1].GetProperty("sim_s").GetDouble());
        Assert.Equal(JsonValueKind.Null, events[2].GetProperty("hospital").ValueKind);
        Assert.Equal(JsonValueKind.Null, events[2].GetProperty("sim_s").ValueKind); // not finite
    }

    [Fact]
    public async Task Should_replace_the_rows_a_resumed_run_closes_again_and_end_with_one_row_per_round()
    {
        // The interrupted process wrote rounds 1-4, but its last checkpoint was after round 2.
        var (run, reporter, text, finished) = Start(resumed: true, 1, 2, 3, 4);
        reporter.Tell(new RunEvent(3, 1, RunEventKinds.CoordinatorRecovered, null, "continuing after round 2", 7));
        reporter.Tell(new RoundClosed(Round(3)));
        AwaitAssert(() => Assert.Equal(["1", "2", "3"], TinyRun.MetricsRounds(run.Path)));
        reporter.Tell(new RoundClosed(Round(4)));
        reporter.Tell(new RunCompleted(new ModelWeights([new WeightTensor("w", [1], [0f])]), [Round(1), Round(2), Round(3), Round(4)]));
        await finished.Task.Within(TimeSpan.FromSeconds(10), "the reporter finishing the run");

        Assert.Equal(["1", "2", "3", "4"], TinyRun.MetricsRounds(run.Path));
        Assert.Contains("resumed: continuing from round 3/4 (checkpoint after round 2 in snapshots/)", text.ToString());
        Assert.Contains("round 4/4  participants 1/2  loss 1.5000  0.2 s  sim 3.5 s  attempts 2", text.ToString());

        var header = File.ReadLines(Path.Combine(run.Path, RunDirectory.MetricsFile)).First().Split(',');
        var row = File.ReadLines(Path.Combine(run.Path, RunDirectory.MetricsFile)).Last().Split(',');
        string Column(string name) => row[Array.IndexOf(header, name)];
        Assert.Equal(("3.5", "14", "1", "2"), (Column("sim_seconds"), Column("sim_clock"), Column("duplicate_replies"), Column("attempts")));
    }

    [Fact]
    public void Should_replace_a_round_the_coordinator_closes_again_after_recovering_in_the_same_process()
    {
        var (run, reporter, text, _) = Start(resumed: false);
        reporter.Tell(new RoundClosed(Round(1)));
        reporter.Tell(new RoundClosed(Round(2)));
        reporter.Tell(new RunEvent(2, 1, RunEventKinds.CoordinatorRecovered, null, "continuing after round 1", 3.5));
        reporter.Tell(new RoundClosed(Round(2, "again")));
        AwaitAssert(() =>
        {
            Assert.Equal(["1", "2"], TinyRun.MetricsRounds(run.Path));
            Assert.EndsWith(",again2,", File.ReadLines(Path.Combine(run.Path, RunDirectory.MetricsFile)).Last()); // global_hash, then dp_epsilon (empty: privacy off)
        });
        AwaitAssert(() => Assert.Contains("coordinator recovered: continuing after round 1", text.ToString()));
    }

    protected override void Dispose(bool disposing)
    {
        base.Dispose(disposing);
        if (disposing) Directory.Delete(_runs, recursive: true);
    }
}
