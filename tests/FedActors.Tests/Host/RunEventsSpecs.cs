using System.Text.Json;
using FedActors.Actors.Protocol;
using FedActors.Host.Commands;
using FedActors.Host.Configuration;
using FedActors.Host.Runs;

namespace FedActors.Tests.Host;

/// <summary>A real run's events.jsonl: what the coordinator did to each hospital, round by round.</summary>
[Collection(InProcessRuns.Name)]
public sealed class RunEventsSpecs : IDisposable
{
    private readonly string _runsRoot = Directory.CreateTempSubdirectory("fedactors-events-").FullName;

    [Fact]
    public async Task Should_log_a_scripted_drop_with_its_reason_and_every_selection_and_acceptance()
    {
        var overrides = TinyRun.Overrides(_runsRoot, seed: 5, rounds: 2, minParticipants: 3);
        overrides.Add("faults.events=[{ kind = drop, hospital = hospital-02, round = 2, stage = during-training }]");
        var output = new StringWriter();
        var result = await RunCommand.ExecuteAsync(ExperimentConfig.Load(null, overrides), output).Within(TimeSpan.FromMinutes(3), "the run");

        var events = File.ReadAllLines(Path.Combine(result.Directory.Path, RunDirectory.EventsFile))
            .Select(l => JsonDocument.Parse(l).RootElement).ToList();
        var dropped = Assert.Single(events, e => e.GetProperty("kind").GetString() == RunEventKinds.Dropped);
        Assert.Equal(2, dropped.GetProperty("round").GetInt32());
        Assert.Equal("hospital-02", dropped.GetProperty("hospital").GetString());
        Assert.Contains("scripted drop during training", dropped.GetProperty("reason").GetString());

        // Every hospital selected and every update aggregated has its line, as the round summaries count them.
        foreach (var round in result.Completed.Rounds)
        {
            int Count(string kind) => events.Count(e => e.GetProperty("round").GetInt32() == round.Round && e.GetProperty("kind").GetString() == kind);
            Assert.Equal(round.Selected.Count, Count(RunEventKinds.Selected));
            Assert.Equal(round.Aggregated.Count, Count(RunEventKinds.Accepted));
            Assert.Equal(1, Count(RunEventKinds.RoundClosed));
        }
        Assert.Equal(["hospital-02"], result.Completed.Rounds[1].Dropped);
        Assert.Contains("round 2/2  participants 3/4", output.ToString());
        Assert.Contains("dropped [hospital-02]", output.ToString());
    }

    public void Dispose() => Directory.Delete(_runsRoot, recursive: true);
}
