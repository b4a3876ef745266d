using FedActors.Actors.Coordination;
using FedActors.Actors.Faults;
using FedActors.Actors.Simulation;
using FedActors.Host.Commands;
using FedActors.Host.Configuration;

namespace FedActors.Tests.Host;

/// <summary>Round policies, faults and heterogeneity: from config keys into <see cref="CoordinatorSettings"/>.</summary>
public sealed class SimulationConfigSpecs : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("fedactors-config-").FullName;

    private string Write(string name, string text)
    {
        var path = Path.Combine(_dir, name);
        File.WriteAllText(path, text);
        return path;
    }

    [Fact]
    public void Should_default_to_no_faults_uniform_hospitals_and_no_deadline()
    {
        var c = ExperimentConfig.Load(null, []).Coordinator;
        Assert.True(c.Faults.IsEmpty);
        Assert.Equal(Heterogeneity.Uniform, c.Heterogeneity with { Hospitals = Heterogeneity.Uniform.Hospitals });
        Assert.Empty(c.Heterogeneity.Hospitals);
        Assert.Same(AvailabilityTrace.AlwaysOn, c.Availability);
        Assert.True(double.IsPositiveInfinity(c.DeadlineSeconds));
        Assert.Equal((0.0, 0.0, TooFewPolicy.Skip, 2), (c.MinParticipantsFraction, c.OverSelection, c.OnTooFew, c.MaxRetries));
    }

    [Fact]
    public void Should_read_every_round_policy_key_into_the_coordinator_settings()
    {
        var c = ExperimentConfig.Load(null,
        [
            "rounds.count=9", "rounds.sample-fraction=0.5", "rounds.min-participants=2", "rounds.min-participants-fraction=0.75",
            "rounds.over-selection=0.3", "rounds.deadline=42.5", "rounds.on-too-few=retry", "rounds.max-retries=4",
            "rounds.timeout=2m", "rounds.resend-interval=5s", "rounds.evaluate-every=3",
        ]).Coordinator;
        Assert.Equal(9, c.Rounds);
        Assert.Equal(0.5, c.SampleFraction);
        Assert.Equal(2, c.MinParticipants);
        Assert.Equal(0.75, c.MinParticipantsFraction);
        Assert.Equal(0.3, c.OverSelection);
        Assert.Equal(42.5, c.DeadlineSeconds);
        Assert.Equal(TooFewPolicy.Retry, c.OnTooFew);
        Assert.Equal(4, c.MaxRetries);
        Assert.Equal(TimeSpan.FromMinutes(2), c.RoundTimeout);
        Assert.Equal(TimeSpan.FromSeconds(5), c.ResendInterval);
        Assert.Equal(3, c.EvaluateEvery);
    }

    [Fact]
    public void Should_read_dropout_and_every_kind_of_scripted_event()
    {
        var file = Write("faults.conf", """
            fedactors.faults {
              dropout { probability = 0.2, stages = [during-training, after-upload] }
              events = [
                { kind = drop, hospital = hospital-03, round = 2, stage = after-upload }
                { kind = drop, hospital = hospital-04, round = 5 }
                { kind = slow, hospital = hospital-01, round = 3, factor = 4 }
                { kind = crash-worker, node = worker-2, round = 4 }
                { kind = crash-coordinator, round = 3 }
                { kind = message, message = request, action = delay, probability = 0.1, delay = 30 }
                { kind = message, message = upload, action = lose, probability = 0.05 }
              ]
            }
            """);
        var f = ExperimentConfig.Load(file, []).Coordinator.Faults;

        Assert.Equal(0.2, f.Dropout!.Probability);
        Assert.Equal([DropoutStage.DuringTraining, DropoutStage.AfterUpload], f.Dropout.Stages);
        Assert.Equal([new ScriptedDrop("hospital-03", 2, DropoutStage.AfterUpload), new ScriptedDrop("hospital-04", 5, DropoutStage.BeforeTraining)], f.Drops);
        Assert.Equal([new ScriptedSlowdown("hospital-01", 3, 4)], f.Slowdowns);
        Assert.Equal([new ScriptedWorkerCrash("worker-2", 4)], f.WorkerCrashes);
        Assert.Equal([new ScriptedCoordinatorCrash(3)], f.CoordinatorCrashes);
        Assert.Equal([new MessageFault(RoundMessage.Request, false, 0.1, 30), new MessageFault(RoundMessage.Upload, true, 0.05)], f.Messages);
    }

    [Fact]
    public void Should_read_heterogeneity_distributions_and_per_hospital_values()
    {
        var h = ExperimentConfig.Load(null,
        [
            "heterogeneity.compute-clock=measured", "heterogeneity.seconds-per-step=0.2",
            "heterogeneity.speed-factor={ distribution = uniform, min = 1, max = 4 }",
            "heterogeneity.bandwidth-mbps={ distribution = lognormal, median = 50, sigma = 0.5 }",
            "heterogeneity.hospitals=[{ hospital = hospital-03, speed-factor = 4, bandwidth-mbps = 10 }, { hospital = hospital-05, bandwidth-mbps = 2 }]",
        ]).Coordinator.Heterogeneity;

        Assert.Equal(ComputeClock.Measured, h.Compute);
        Assert.Equal(0.2, h.SecondsPerStep);
        Assert.Equal(ValueDistribution.Uniform(1, 4), h.SpeedFactor);
        Assert.Equal(ValueDistribution.LogNormal(50, 0.5), h.BandwidthMbps);
        Assert.Equal([new HospitalSystemOverride("hospital-03", 4, 10), new HospitalSystemOverride("hospital-05", null, 2)], h.Hospitals);
    }

    [Fact]
    public void Should_ignore_a_lower_layers_parameters_of_a_distribution_a_higher_layer_replaced()
    {
        var file = Write("uniform.conf", "fedactors.heterogeneity.speed-factor { distribution = uniform, min = 1, max = 4 }");
        var h = ExperimentConfig.Load(file, ["heterogeneity.speed-factor.distribution=constant", "heterogeneity.speed-factor.value=2"]).Coordinator.Heterogeneity;
        Assert.Equal(ValueDistribution.Constant(2), h.SpeedFactor);
    }

    [Fact]
    public void Should_read_an_availability_trace_relative_to_the_config_file()
    {
        Directory.CreateDirectory(Path.Combine(_dir, "traces"));
        Write(Path.Combine("traces", "on.csv"), "hospital,start_s,end_s\nhospital-02,0,10\nhospital-02,20,30\n");
        var file = Write("trace.conf", "fedactors.faults.availability-trace = traces/on.csv");

        var config = ExperimentConfig.Load(file, []);
        var trace = config.Coordinator.Availability;
        Assert.True(trace.IsOn("hospital-02", 5));
        Assert.False(trace.IsOn("hospital-02", 15));
        Assert.True(trace.IsOn("hospital-01", 15)); // not in the trace: always on
        // The resolved config names the trace by its full path, so it loads from anywhere.
        Assert.Contains(Path.Combine(_dir, "traces", "on.csv"), config.ResolvedHocon);
    }

    [Theory]
    [InlineData("faults.events=[{ kind = explode, round = 2 }]", "fedactors.faults.events[0].kind", "explode")]
    [InlineData("faults.events=[{ kind = crash-coordinator, round = 2 }, { kind = drop, hospital = hospital-03, round = 2, colour = red }]",
        "fedactors.faults.events[1].colour", "not a field of a drop event")]
    [InlineData("faults.events=[{ kind = slow, hospital = hospital-03, round = 2 }]", "fedactors.faults.events[0].factor", "missing")]
    [InlineData("faults.events=[{ kind = drop, hospital = hospital-03, round = 2, stage = mid-air }]", "fedactors.faults.events[0].stage", "mid-air")]
    [InlineData("faults.events=[{ kind = drop, hospital = hospital-99, round = 2 }]", "fedactors.faults.events[0].hospital", "not a hospital")]
    [InlineData("faults.events=[{ kind = drop, hospital = hospital-01, round = 13 }]", "fedactors.faults.events[0].round", "between 1 and 12")]
    [InlineData("faults.events=[{ kind = message, message = upload, action = lose, probability = 0.1, delay = 3 }]", "fedactors.faults.events[0].delay", "not a field")]
    [InlineData("faults.events=[{ kind = message, message = upload, action = delay, probability = 1.5, delay = 3 }]", "fedactors.faults.events[0].probability", "between 0 and 1")]
    [InlineData("faults.events=[drop]", "fedactors.faults.events[0]", "must be an object")]
    [InlineData("faults.events=[{ kind = corrupt, hospital = hospital-02, round = 2, corruption = garbled }]", "fedactors.faults.events[0].corruption", "nan, scaled")]
    [InlineData("faults.events=[{ kind = corrupt, hospital = hospital-02, round = 2 }]", "fedactors.faults.events[0].corruption", "missing")]
    [InlineData("faults.events=[{ kind = corrupt, hospital = hospital-02, round = 2, corruption = nan, factor = 2 }]", "fedactors.faults.events[0].factor", "not a field of a corrupt event")]
    [InlineData("faults.dropout.probability=1.5", "fedactors.faults.dropout.probability", "between 0 and 1")]
    [InlineData("faults.dropout.stages=[before-training, mid-air]", "fedactors.faults.dropout.stages", "mid-air")]
    [InlineData("rounds.on-too-few=panic", "fedactors.rounds.on-too-few", "skip, retry")]
    [InlineData("rounds.deadline=soon", "fedactors.rounds.deadline", "number")]
    [InlineData("rounds.over-selection=11", "fedactors.rounds.over-selection", "between 0 and 10")]
    [InlineData("heterogeneity.compute-clock=sundial", "fedactors.heterogeneity.compute-clock", "modelled, measured")]
    [InlineData("heterogeneity.speed-factor.distribution=pareto", "fedactors.heterogeneity.speed-factor.distribution", "pareto")]
    [InlineData("heterogeneity.speed-factor={ distribution = constant, min = 1 }", "fedactors.heterogeneity.speed-factor.min", "not a parameter of a constant")]
    [InlineData("heterogeneity.speed-factor.mean=1", "fedactors.heterogeneity.speed-factor.mean", "unknown key")]
    [InlineData("heterogeneity.bandwidth-mbps={ distribution = uniform, min = 5 }", "fedactors.heterogeneity.bandwidth-mbps.distribution", "needs 'max'")]
    [InlineData("heterogeneity.bandwidth-mbps={ distribution = uniform, min = 5, max = 1 }", "fedactors.heterogeneity.bandwidth-mbps.distribution", "min <= max")]
    [InlineData("heterogeneity.hospitals=[{ hospital = hospital-02, speed-factor = 2, cores = 8 }]", "fedactors.heterogeneity.hospitals[0].cores", "not a field")]
    [InlineData("heterogeneity.hospitals=[{ hospital = hospital-02 }, { hospital = hospital-02 }]", "fedactors.heterogeneity.hospitals[1].hospital", "listed twice")]
    [InlineData("faults.availability-trace=no-such-trace.csv", "fedactors.faults.availability-trace", "does not exist")]
    public void Should_name_the_key_and_source_of_a_bad_value(string setting, string key, string problem)
    {
        var e = Assert.Throws<ConfigError>(() => ExperimentConfig.Load(null, [setting]));
        Assert.Contains($"'{key}'", e.Message);
        Assert.Contains(problem, e.Message);
        Assert.Contains($"--set {setting}", e.Message);
    }

    [Fact]
    public void Should_read_corrupt_events_into_the_fault_plan()
    {
        var config = ExperimentConfig.Load(null,
            ["faults.events=[{ kind = corrupt, hospital = hospital-02, round = 2, corruption = nan }, { kind = corrupt, hospital = hospital-05, round = 3, corruption = scaled }]"]);
        Assert.Equal(
            [new ScriptedCorruption("hospital-02", 2, Corruption.NaN), new ScriptedCorruption("hospital-05", 3, Corruption.Scaled)],
            config.Coordinator.Faults.Corruptions);
        Assert.Equal(Corruption.NaN, config.Coordinator.Faults.For(config.Coordinator.Seed, 2, "hospital-02").Corrupt);
        Assert.Null(config.Coordinator.Faults.For(config.Coordinator.Seed, 3, "hospital-02").Corrupt);
    }

    [Fact]
    public void Should_name_the_file_and_line_of_a_bad_trace_row()
    {
        var trace = Write("bad.csv", "hospital,start_s,end_s\nhospital-01,0,10\nhospital-02,50,20\n");
        var file = Write("bad-trace.conf", "fedactors.faults.availability-trace = bad.csv");

        var e = Assert.Throws<ConfigError>(() => ExperimentConfig.Load(file, []));
        Assert.Contains(file, e.Message);
        Assert.Contains("'fedactors.faults.availability-trace'", e.Message);
        Assert.Contains(trace, e.Message);
        Assert.Contains("line 3", e.Message);

        Write("unknown.csv", "hospital,start_s,end_s\nhospital-42,0,10\n");
        var unknown = Assert.Throws<ConfigError>(() => ExperimentConfig.Load(file, ["faults.availability-trace=\"" + Path.Combine(_dir, "unknown.csv") + "\""]));
        Assert.Contains("line 2", unknown.Message);
        Assert.Contains("hospital-42", unknown.Message);
    }

    [Fact]
    public void Should_write_a_resolved_config_that_loads_back_to_the_same_settings()
    {
        Write("on.csv", "hospital,start_s,end_s\nhospital-02,0,10\n");
        var file = Write("full.conf", """
            fedactors {
              rounds { deadline = 12.5, on-too-few = retry, over-selection = 0.5 }
              faults.events = [
                { kind = drop, hospital = hospital-03, round = 2 }
                { kind = message, message = upload, action = delay, probability = 0.5, delay = 3 }
              ]
              faults.availability-trace = on.csv
              heterogeneity.speed-factor { distribution = lognormal, median = 2, sigma = 0.25 }
            }
            """);
        var first = ExperimentConfig.Load(file, []);
        var resolved = Write("resolved.conf", first.ResolvedHocon);
        var again = ExperimentConfig.Load(resolved, []);

        Assert.Equal(first.ResolvedHocon, again.ResolvedHocon);
        var (a, b) = (first.Coordinator, again.Coordinator);
        Assert.Equal(a with { Faults = b.Faults, Heterogeneity = b.Heterogeneity, Availability = b.Availability }, b);
        Assert.Equal(a.Faults.Drops, b.Faults.Drops);
        Assert.Equal(a.Faults.Messages, b.Faults.Messages);
        Assert.Equal(a.Heterogeneity.SpeedFactor, b.Heterogeneity.SpeedFactor);
        Assert.Equal(a.Availability.Source, b.Availability.Source);
        // Only the chosen distribution's parameters are written (the default's `value` would not load back).
        Assert.DoesNotContain("value", first.ResolvedHocon.Split("speed-factor")[1].Split('}')[0]);
    }

    [Fact]
    public async Task Should_refuse_a_worker_crash_in_a_single_process_run()
    {
        var config = ExperimentConfig.Load(null, [$"runs-dir=\"{_dir}\"", "faults.events=[{ kind = crash-worker, node = worker-2, round = 2 }]"]);
        Assert.Single(config.Coordinator.Faults.WorkerCrashes); // a valid config: `fedactors node` runs it

        var e = await Assert.ThrowsAsync<ConfigError>(() => RunCommand.ExecuteAsync(config, TextWriter.Null));
        Assert.Contains("'fedactors.faults.events'", e.Message);
        Assert.Contains("crash-worker", e.Message);
        Assert.Contains("--set faults.events", e.Message);
        Assert.Empty(Directory.GetDirectories(_dir)); // nothing run, no run directory
    }

    public void Dispose() => Directory.Delete(_dir, recursive: true);
}
