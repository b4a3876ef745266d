using FedActors.Actors.Faults;
using FedActors.Actors.Rounds;
using FedActors.Host.Configuration;
using FedActors.Testing;
using FedActors.Tests.Host;

namespace FedActors.Tests.Testing;

/// <summary>The testing kit's builder and result, through its public API only.</summary>
[Collection(InProcessRuns.Name)]
public sealed class SimulationKitSpecs
{
    [Fact]
    public async Task Should_run_the_same_fault_plan_given_in_HOCON_and_built_in_code_alike()
    {
        var hocon = await Simulation.Create().Rounds(2).Seed(3).Within(TimeSpan.FromMinutes(3)).Faults("""
            dropout { probability = 0.25, stages = [during-training] }
            events = [
              { kind = drop, hospital = hospital-02, round = 1, stage = after-upload }
              { kind = slow, hospital = hospital-04, round = 2, factor = 3 }
              { kind = corrupt, hospital = hospital-01, round = 2, corruption = nan }
            ]
            """).RunAsync();
        await using var _ = hocon;
        await using var code = await Simulation.Create().Rounds(2).Seed(3).Within(TimeSpan.FromMinutes(3))
            .RandomDropout(0.25, DropoutStage.DuringTraining)
            .Drop("hospital-02", round: 1, DropoutStage.AfterUpload)
            .Slow("hospital-04", fromRound: 2, factor: 3)
            .Corrupt("hospital-01", round: 2, Corruption.NaN)
            .RunAsync();

        Assert.Equal(hocon.FinalModelHash, code.FinalModelHash);
        Assert.Equal(UpdateOutcome.Lost, code.Round(1).OutcomeOf("hospital-02"));
        Assert.Equal(UpdateOutcome.Rejected, code.Round(2).OutcomeOf("hospital-01"));
        Assert.Equal(hocon.Events.Select(e => (e.Round, e.Kind, e.HospitalId, e.Reason)), code.Events.Select(e => (e.Round, e.Kind, e.HospitalId, e.Reason)));
        Assert.Equal(hocon.Rounds.Select(r => r.GlobalHash), code.Rounds.Select(r => r.GlobalHash));
    }

    [Theory]
    [InlineData("rounds.deadline = soon", "'fedactors.rounds.deadline'", "number")]
    [InlineData("data.hospitals = 4\nrounds.colour = red", "'fedactors.rounds.colour'", "unknown key")]
    public async Task Should_name_the_key_and_line_of_a_bad_setting_as_the_command_does(string hocon, string key, string problem)
    {
        var before = TempRuns();
        var e = await Assert.ThrowsAsync<ConfigError>(() => Simulation.Create().Config(hocon).RunAsync());
        Assert.Contains(key, e.Message);
        Assert.Contains(problem, e.Message);
        Assert.Contains($"experiment.conf:{hocon.Split('\n').Length}", e.Message);
        Assert.Equal(before, TempRuns()); // its temporary directory is gone
    }

    [Fact]
    public async Task Should_name_the_field_of_a_bad_fault_event()
    {
        var e = await Assert.ThrowsAsync<ConfigError>(() => Simulation.Create()
            .Faults("events = [ { kind = corrupt, hospital = hospital-02, round = 2, corruption = garbled } ]").RunAsync());
        Assert.Contains("'fedactors.faults.events[0].corruption'", e.Message);
        Assert.Contains("nan, scaled", e.Message);
    }

    [Fact]
    public async Task Should_refuse_a_fault_in_code_for_a_hospital_that_does_not_exist()
    {
        var e = await Assert.ThrowsAsync<ConfigError>(() => Simulation.Create().Hospitals(4).Drop("hospital-09", round: 1).RunAsync());
        Assert.Contains("'hospital-09'", e.Message);
    }

    [Fact]
    public async Task Should_write_into_a_temporary_directory_it_deletes_on_dispose_unless_asked_to_keep_it()
    {
        var workingRuns = Path.Combine(Directory.GetCurrentDirectory(), "runs");
        var hadRuns = Directory.Exists(workingRuns) ? Directory.GetDirectories(workingRuns).Length : 0;
        var run = await Simulation.Create().Rounds(2).Hospitals(3).Method("fedmoco-plain").Strategy(rules => new FedAvgStrategy(rules))
            .Config("rounds.min-participants = 3").Within(TimeSpan.FromMinutes(3)).RunAsync();
        var directory = run.Directory;
        Assert.True(File.Exists(Path.Combine(directory, "events.jsonl")));
        Assert.StartsWith(Path.GetTempPath(), directory);
        Assert.Equal(2, run.Rounds.Count);
        Assert.All(run.Rounds, r => Assert.Equal(3, r.Aggregated.Count));
        Assert.True(run.BytesMoved > 0);
        Assert.Equal(run.FinalModel.ContentHash, run.FinalModelHash);
        Assert.Equal(run.Round(2).GlobalHash, run.FinalModelHash);
        await run.DisposeAsync();
        Assert.False(Directory.Exists(directory));
        Assert.Equal(hadRuns, Directory.Exists(workingRuns) ? Directory.GetDirectories(workingRuns).Length : 0);

        await using var kept = await Simulation.Create().Rounds(1).KeepFiles().Within(TimeSpan.FromMinutes(3)).RunAsync();
        await kept.DisposeAsync();
        Assert.True(Directory.Exists(kept.Directory));
        Directory.Delete(Path.GetDirectoryName(Path.GetDirectoryName(kept.Directory))!, recursive: true);
    }

    [Fact]
    public async Task Should_write_faults_and_availability_given_in_code_into_the_runs_resolved_config()
    {
        await using var run = await Simulation.Create().Rounds(2).Seed(5).Within(TimeSpan.FromMinutes(3)).KeepFiles()
            .Faults("events = [ { kind = slow, hospital = hospital-03, round = 1, factor = 2 } ]")
            .Drop("hospital-02", round: 2, DropoutStage.DuringTraining)
            .Lose(RoundMessage.Upload, probability: 0.125)
            .Available("hospital-04", (0, 1e9))
            .RunAsync();
        try
        {
            // What --resume reads back: the HOCON's fault and the code's, and the code's availability.
            var resumed = ExperimentConfig.Load(Path.Combine(run.Directory, "resolved.conf"), []);
            var faults = resumed.Coordinator.Faults;
            Assert.Equal([new ScriptedSlowdown("hospital-03", 1, 2)], faults.Slowdowns);
            Assert.Equal([new ScriptedDrop("hospital-02", 2, DropoutStage.DuringTraining)], faults.Drops);
            Assert.Equal([new MessageFault(RoundMessage.Upload, Lose: true, 0.125)], faults.Messages);
            Assert.Equal(["hospital-04"], resumed.Coordinator.Availability.TracedHospitals);
            Assert.Equal(UpdateOutcome.Dropped, run.Round(2).OutcomeOf("hospital-02"));
        }
        finally { Directory.Delete(Path.GetDirectoryName(Path.GetDirectoryName(run.Directory))!, recursive: true); }
    }

    [Fact]
    public async Task Should_take_fedscales_traces_from_the_builder_and_select_only_the_hospitals_online()
    {
        // Python-written fixtures: client 3 (hospital-01, -03) is on from 50 s, client 7 (hospital-02, -04) from 0 s.
        var fixtures = Path.Combine(AppContext.BaseDirectory, "Fixtures", "FedScale");
        await using var run = await Simulation.Create().Rounds(1).Within(TimeSpan.FromMinutes(3))
            .FedScale(behaviourTrace: Path.Combine(fixtures, "client_behave_trace.pkl"), deviceCapacity: Path.Combine(fixtures, "client_device_capacity.pkl"))
            .RunAsync();
        Assert.Equal(["hospital-02", "hospital-04"], run.Round(1).Selected);
        Assert.Equal(["hospital-02", "hospital-04"], run.Round(1).Aggregated);

        var e = await Assert.ThrowsAsync<ConfigError>(() => Simulation.Create().FedScale(behaviourTrace: "no-such-trace.pkl").RunAsync());
        Assert.Contains("'fedactors.faults.fedscale-behaviour-trace'", e.Message);
        Assert.Contains("does not exist", e.Message);
    }

    private static string[] TempRuns() =>
        Directory.GetDirectories(Path.GetTempPath(), "fedactors-testing-*").Order(StringComparer.Ordinal).ToArray();
}

/// <summary>The README's dropout test is the one <see cref="DropoutTests"/> runs, and short enough to paste.</summary>
public sealed class ReadmeDropoutTestSpecs
{
    [Fact]
    public void Should_be_the_README_example_verbatim_in_at_most_30_lines()
    {
        var readme = File.ReadAllText(Path.Combine(SharedData.Repository, "README.md")).ReplaceLineEndings("\n");
        var section = readme[readme.IndexOf("## Use it from your own tests", StringComparison.Ordinal)..];
        var start = section.IndexOf("```csharp\n", StringComparison.Ordinal) + "```csharp\n".Length;
        var example = section[start..section.IndexOf("\n```", start, StringComparison.Ordinal)];

        var spec = File.ReadAllLines(Path.Combine(SharedData.Repository, "tests", "FedActors.Tests", "Testing", "ReadmeDropoutTest.cs"))
            .SkipWhile(l => !l.StartsWith("using ", StringComparison.Ordinal))
            .Where(l => !l.StartsWith("namespace ", StringComparison.Ordinal) && !l.StartsWith("[Collection(", StringComparison.Ordinal));
        var verbatim = string.Join("\n", spec).Replace("using Xunit;\n\n\n", "using Xunit;\n\n", StringComparison.Ordinal).TrimEnd('\n');

        Assert.Equal(verbatim, example);
        Assert.InRange(example.Split('\n').Length, 1, 30);
        // The sample CI builds from the packed packages only holds the same test, as a user would paste it.
        var sample = File.ReadAllText(Path.Combine(SharedData.Repository, "tests", "Samples.DropoutTests", "DropoutTests.cs")).ReplaceLineEndings("\n");
        Assert.Equal(example, sample.TrimEnd('\n'));
    }
}
