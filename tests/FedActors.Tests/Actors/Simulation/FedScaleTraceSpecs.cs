using FedActors.Actors.Simulation;
using FedActors.Host.Commands;
using FedActors.Host.Configuration;
using FedActors.Tests.Host;
using FedActors.Training.Data;
using Razorvine.Pickle;

namespace FedActors.Tests.Actors.Simulation;

/// <summary>
/// <see cref="FedScaleTraces"/>: FedScale's published <c>client_behave_trace</c> and <c>client_device_capacity</c>
/// pickles, read as FedScale writes them (fixtures pickled here in the files' exact structure, and two written by
/// Python's own pickle, protocol 4), mapped onto availability and heterogeneity; every bad input named by file,
/// client and field; the config keys; and a run in which the trace keeps a hospital out of round 1.
/// </summary>
[Collection(InProcessRuns.Name)]
public sealed class FedScaleTraceSpecs : IDisposable
{
    private static readonly string PythonFixtures = Path.Combine(AppContext.BaseDirectory, "Fixtures", "FedScale");
    private static readonly string[] Hospitals = ["hospital-01", "hospital-02", "hospital-03", "hospital-04"];

    private readonly string _dir = Directory.CreateTempSubdirectory("fedactors-fedscale-").FullName;
    private int _files;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    /// <summary>Pickles <paramref name="value"/> (dicts, lists, numbers, strings) as Python would read it.</summary>
    private string Pickle(object value, string? name = null)
    {
        var path = Path.Combine(_dir, name ?? $"trace-{++_files}");
        using var pickler = new Pickler();
        File.WriteAllBytes(path, pickler.dumps(value));
        return path;
    }

    /// <summary>One client of a behaviour trace, in FedScale's structure (README of benchmark/dataset/data/device_info).</summary>
    private static Dictionary<string, object> Behaviour(int[] active, int[] inactive, int finishTime) => new()
    {
        ["duration"] = finishTime, ["inactive"] = inactive.Cast<object>().ToList(), ["finish_time"] = finishTime,
        ["active"] = active.Cast<object>().ToList(), ["model"] = "SM-G960F",
    };

    private static Dictionary<string, object> Capacity(double computation, double communication) =>
        new() { ["computation"] = computation, ["communication"] = communication };

    private static AvailabilityTrace Availability(string path, FedScaleClientOrder order = FedScaleClientOrder.Ascending, ulong seed = 1)
    {
        var trace = FedScaleTraces.ReadBehaviourTrace(path);
        return FedScaleTraces.ToAvailability(trace, FedScaleTraces.MapClients(trace.Select(c => c.ClientId), Hospitals, order, seed), path);
    }

    [Fact]
    public void Should_read_pythons_own_pickles_into_hand_computed_intervals_speed_factors_and_bandwidths()
    {
        // Fixtures/FedScale/*.pkl were written by Python 3's pickle.dump(..., protocol=4), as FedScale's files are.
        // Clients 3 and 7: ascending, hospital-01 is client 3, hospital-02 client 7, then the list wraps round.
        var trace = Availability(Path.Combine(PythonFixtures, "client_behave_trace.pkl"));
        // Client 3: on [50, 250) of every 600 s.
        foreach (var (t, on) in new[] { (0.0, false), (49.9, false), (50, true), (249.9, true), (250, false), (650, true), (1249, false), (1250, true) })
        {
            Assert.Equal(on, trace.IsOn("hospital-01", t));
            Assert.Equal(on, trace.IsOn("hospital-03", t));
        }
        // Client 7: on [0, 100) and [300, 400) of every 1000 s.
        foreach (var (t, on) in new[] { (0.0, true), (99.9, true), (100, false), (350, true), (400, false), (999, false), (1000, true), (1350, true) })
        {
            Assert.Equal(on, trace.IsOn("hospital-02", t));
            Assert.Equal(on, trace.IsOn("hospital-04", t));
        }
        Assert.Equal(100, trace.OnUntil("hospital-02", 50));
        Assert.Equal(1400, trace.OnUntil("hospital-02", 1320));
        Assert.Equal(850, trace.OnUntil("hospital-01", 700));

        var capacity = FedScaleTraces.ReadDeviceCapacity(Path.Combine(PythonFixtures, "client_device_capacity.pkl"));
        var map = FedScaleTraces.MapClients(capacity.Select(c => c.ClientId), Hospitals, FedScaleClientOrder.Ascending, 1);
        var systems = FedScaleTraces.ToHeterogeneity(capacity, map, batchSize: 8, secondsPerStep: 0.05).ToDictionary(h => h.HospitalId);
        // Client 3: 3 × 8 samples × 50 ms = 1.2 s a step = 24 × 0.05 s; 976.5625 × 1024 bit/s = 1 Mbps.
        Assert.Equal(24, systems["hospital-01"].SpeedFactor!.Value, 9);
        Assert.Equal(1.0, systems["hospital-01"].BandwidthMbps!.Value, 12);
        // Client 7: 3 × 8 × 12.5 ms = 0.3 s = 6 × 0.05 s; 2048 × 1024 bit/s = 2.097152 Mbps.
        Assert.Equal(6, systems["hospital-02"].SpeedFactor!.Value, 9);
        Assert.Equal(2.097152, systems["hospital-02"].BandwidthMbps!.Value, 12);
        Assert.Equal(24, systems["hospital-03"].SpeedFactor!.Value, 9);
    }

    [Fact]
    public void Should_answer_as_fedscales_own_is_active_test_does()
    {
        // FedScale's fedscale/tests/cloud/internal/test_client_metadata.py, test_is_active: active [1, 3, 6, 9],
        // inactive [1, 4, 7, 10], finish_time 10 ⇒ off at 2, on at 6, off at 8, on at 9, off at 10 and 15.
        var path = Pickle(new Dictionary<object, object> { [1] = Behaviour([1, 3, 6, 9], [1, 4, 7, 10], 10) });
        var trace = Availability(path);
        Assert.Equal([false, true, false, true, false, false], new[] { 2.0, 6, 8, 9, 10, 15 }.Select(t => trace.IsOn("hospital-01", t)));
        // And it repeats modulo finish_time: 23 ≡ 3, 39 ≡ 9.
        Assert.True(trace.IsOn("hospital-01", 23));
        Assert.True(trace.IsOn("hospital-01", 39));
    }

    [Fact]
    public void Should_join_a_stretch_that_runs_to_finish_time_with_one_that_starts_the_next_period()
    {
        var path = Pickle(new Dictionary<object, object>
        {
            [1] = Behaviour([0, 8], [2, 10], 10),
            [2] = Behaviour([0], [10], 10),  // on all the time
            [3] = Behaviour([5], [10], 10),  // on until each period ends
        });
        var trace = Availability(path);
        Assert.Equal(12, trace.OnUntil("hospital-01", 9));
        Assert.Equal(32, trace.OnUntil("hospital-01", 29.5));
        Assert.Null(trace.OnUntil("hospital-01", 5));
        Assert.Equal(double.PositiveInfinity, trace.OnUntil("hospital-02", 123.4));
        Assert.Equal(20, trace.OnUntil("hospital-03", 17));
    }

    [Fact]
    public void Should_refuse_a_period_that_an_interval_goes_beyond_or_that_is_not_positive()
    {
        var intervals = new Dictionary<string, IReadOnlyList<OnInterval>> { ["hospital-01"] = [new OnInterval(0, 20)] };
        Assert.Contains("beyond its period", Assert.Throws<ArgumentException>(() =>
            new AvailabilityTrace(intervals, new Dictionary<string, double> { ["hospital-01"] = 10 })).Message);
        Assert.Contains("must be finite and > 0", Assert.Throws<ArgumentException>(() =>
            new AvailabilityTrace(intervals, new Dictionary<string, double> { ["hospital-01"] = double.NaN })).Message);
        Assert.Contains("no intervals", Assert.Throws<ArgumentException>(() =>
            new AvailabilityTrace(intervals, new Dictionary<string, double> { ["hospital-09"] = 30 })).Message);
        // Without a period the same intervals do not repeat.
        var once = new AvailabilityTrace(intervals);
        var repeating = new AvailabilityTrace(intervals, new Dictionary<string, double> { ["hospital-01"] = 30 });
        Assert.Equal((false, true), (once.IsOn("hospital-01", 35), repeating.IsOn("hospital-01", 35)));
        Assert.Equal(50, repeating.OnUntil("hospital-01", 35));
    }

    [Fact]
    public void Should_map_hospitals_to_client_ids_in_ascending_order_or_by_a_seeded_permutation()
    {
        string[] ids = ["10", "2", "33", "1", "7"];
        var ascending = FedScaleTraces.MapClients(ids, Hospitals, FedScaleClientOrder.Ascending, seed: 1);
        Assert.Equal(["1", "2", "7", "10"], Hospitals.Select(h => ascending[h])); // by value, not as text

        var seeded = FedScaleTraces.MapClients(ids, Hospitals, FedScaleClientOrder.Seeded, seed: 42);
        Assert.Equal(seeded, FedScaleTraces.MapClients(ids.AsEnumerable().Reverse(), Hospitals, FedScaleClientOrder.Seeded, seed: 42)); // replays, whatever the file order
        Assert.Equal(4, seeded.Values.Distinct().Count());
        Assert.Contains(Enumerable.Range(0, 20).Select(s => (ulong)s),
            s => !FedScaleTraces.MapClients(ids, Hospitals, FedScaleClientOrder.Seeded, s).SequenceEqual(ascending));

        var wrapped = FedScaleTraces.MapClients(["5", "4"], Hospitals, FedScaleClientOrder.Ascending, seed: 1);
        Assert.Equal(["4", "5", "4", "5"], Hospitals.Select(h => wrapped[h]));
    }

    public static TheoryData<string, string, string> BadBehaviours => new()
    {
        { "missing", "client 4, 'finish_time'", "is missing" },
        { "active-not-list", "client 4, 'active'", "must be a list" },
        { "negative", "client 4, 'active[1]'", "must not be negative" },
        { "nan", "client 4, 'inactive[0]'", "must be finite" },
        { "backwards", "client 4, 'inactive[1]'", "ends before it starts" },
        { "unordered", "client 4, 'active[1]'", "ascending order" },
        { "lengths", "client 4, 'inactive'", "pair up" },
        { "finish-zero", "client 4, 'finish_time'", "must be > 0" },
        { "finish-string", "client 4, 'finish_time'", "must be a number, found a string" },
        { "empty", "client 4, 'active'", "is empty" },
        { "model-number", "client 4, 'model'", "must be a string" },
        { "entry-list", "client 4", "must be a dict" },
    };

    [Theory]
    [MemberData(nameof(BadBehaviours))]
    public void Should_name_file_client_and_field_of_a_bad_behaviour_trace(string fault, string where, string problem)
    {
        var entry = Behaviour([0, 20], [10, 30], 100);
        object value = entry;
        switch (fault)
        {
            case "missing": entry.Remove("finish_time"); break;
            case "active-not-list": entry["active"] = "0,20"; break;
            case "negative": entry["active"] = new List<object> { 0, -20 }; break;
            case "nan": entry["inactive"] = new List<object> { double.NaN, 30 }; break;
            case "backwards": entry["inactive"] = new List<object> { 10, 15 }; break;
            case "unordered": entry["active"] = new List<object> { 20, 0 }; entry["inactive"] = new List<object> { 30, 10 }; break;
            case "lengths": entry["inactive"] = new List<object> { 10 }; break;
            case "finish-zero": entry["finish_time"] = 0; break;
            case "finish-string": entry["finish_time"] = "100"; break;
            case "empty": entry["active"] = new List<object>(); entry["inactive"] = new List<object>(); break;
            case "model-number": entry["model"] = 5; break;
            case "entry-list": value = new List<object> { 1, 2 }; break;
        }
        var path = Pickle(new Dictionary<object, object> { [1] = Behaviour([0], [10], 100), [4] = value });
        var e = Assert.Throws<DataFormatException>(() => FedScaleTraces.ReadBehaviourTrace(path));
        Assert.StartsWith(path, e.Message);
        Assert.Contains(where, e.Message);
        Assert.Contains(problem, e.Message);
    }

    [Theory]
    [InlineData("missing", "client 9, 'communication'", "is missing")]
    [InlineData("negative", "client 9, 'computation'", "must not be negative")]
    [InlineData("zero", "client 9, 'communication'", "must be > 0")]
    [InlineData("infinite", "client 9, 'computation'", "must be finite")]
    [InlineData("text", "client 9, 'communication'", "must be a number")]
    public void Should_name_file_client_and_field_of_a_bad_device_capacity_trace(string fault, string where, string problem)
    {
        var entry = Capacity(20, 1000);
        switch (fault)
        {
            case "missing": entry.Remove("communication"); break;
            case "negative": entry["computation"] = -1.0; break;
            case "zero": entry["communication"] = 0.0; break;
            case "infinite": entry["computation"] = double.PositiveInfinity; break;
            case "text": entry["communication"] = "fast"; break;
        }
        var path = Pickle(new Dictionary<object, object> { [1] = Capacity(1, 1), [9] = entry });
        var e = Assert.Throws<DataFormatException>(() => FedScaleTraces.ReadDeviceCapacity(path));
        Assert.StartsWith(path, e.Message);
        Assert.Contains(where, e.Message);
        Assert.Contains(problem, e.Message);
    }

    [Fact]
    public void Should_refuse_a_file_that_is_not_a_pickled_dict_of_clients()
    {
        var text = Path.Combine(_dir, "trace.csv");
        File.WriteAllText(text, "hospital,start_s,end_s\n");
        Assert.Contains("not a readable Python pickle", Assert.Throws<DataFormatException>(() => FedScaleTraces.ReadDeviceCapacity(text)).Message);
        Assert.Contains("must hold a dict", Assert.Throws<DataFormatException>(() => FedScaleTraces.ReadDeviceCapacity(Pickle(new List<object> { 1 }))).Message);
        Assert.Contains("has no clients", Assert.Throws<DataFormatException>(() => FedScaleTraces.ReadDeviceCapacity(Pickle(new Dictionary<object, object>()))).Message);
        var floatKey = Pickle(new Dictionary<object, object> { [1.5] = Capacity(1, 1) });
        Assert.Contains("client id", Assert.Throws<DataFormatException>(() => FedScaleTraces.ReadDeviceCapacity(floatKey)).Message);
    }

    [Fact]
    public void Should_read_both_traces_from_config_keys_relative_to_the_file_that_sets_them()
    {
        Directory.CreateDirectory(Path.Combine(_dir, "traces"));
        Pickle(new Dictionary<object, object> { [1] = Behaviour([0], [10], 100), [2] = Behaviour([50], [60], 100) }, Path.Combine("traces", "client_behave_trace"));
        Pickle(new Dictionary<object, object> { [1] = Capacity(12.5, 2048), [2] = Capacity(50, 976.5625) }, Path.Combine("traces", "client_device_capacity"));
        var file = Path.Combine(_dir, "fedscale.conf");
        File.WriteAllText(file, """
            fedactors.faults.fedscale-behaviour-trace = traces/client_behave_trace
            fedactors.heterogeneity.fedscale-device-capacity = traces/client_device_capacity
            """);

        var config = ExperimentConfig.Load(file, ["moco.batch-size=8", "heterogeneity.seconds-per-step=0.05"]);
        var c = config.Coordinator;
        Assert.True(c.Availability.IsOn("hospital-01", 5));
        Assert.False(c.Availability.IsOn("hospital-02", 5));
        Assert.True(c.Availability.IsOn("hospital-02", 155));
        var systems = c.Heterogeneity.Hospitals.ToDictionary(h => h.HospitalId);
        Assert.Equal(8, systems.Count); // the default experiment's 8 hospitals, wrapping round the 2 clients
        Assert.Equal(6, systems["hospital-01"].SpeedFactor!.Value, 9);
        Assert.Equal(1.0, systems["hospital-02"].BandwidthMbps!.Value, 12);
        Assert.Equal(6, c.Heterogeneity.For("hospital-03", 1).SpeedFactor, 9);
        // The resolved config names the traces by their full paths, so it loads from anywhere.
        Assert.Contains(Path.Combine(_dir, "traces", "client_behave_trace"), config.ResolvedHocon);
        Assert.Contains(Path.Combine(_dir, "traces", "client_device_capacity"), config.ResolvedHocon);

        var seeded = ExperimentConfig.Load(file, ["fedscale-clients=seeded", "seed=7"]).Coordinator.Availability;
        var again = ExperimentConfig.Load(file, ["fedscale-clients=seeded", "seed=7"]).Coordinator.Availability;
        Assert.Equal(Hospitals.Select(h => seeded.IsOn(h, 5)), Hospitals.Select(h => again.IsOn(h, 5)));
    }

    [Fact]
    public void Should_refuse_a_fedscale_trace_with_its_native_equivalent_or_a_bad_file_naming_the_key_and_line()
    {
        var behaviour = Pickle(new Dictionary<object, object> { [1] = Behaviour([0], [10], 100) });
        var capacity = Pickle(new Dictionary<object, object> { [1] = Capacity(10, 100) });
        var csv = Path.Combine(_dir, "on.csv");
        File.WriteAllText(csv, "hospital,start_s,end_s\nhospital-01,0,10\n");
        var file = Path.Combine(_dir, "both.conf");
        File.WriteAllText(file, $"""
            fedactors.faults.availability-trace = "{csv}"
            fedactors.faults.fedscale-behaviour-trace = "{behaviour}"
            """);
        var e = Assert.Throws<ConfigError>(() => ExperimentConfig.Load(file, []));
        Assert.Contains("'fedactors.faults.fedscale-behaviour-trace'", e.Message);
        Assert.Contains($"{file}:2", e.Message);
        Assert.Contains("availability-trace", e.Message);

        string[] withNative = [$"heterogeneity.fedscale-device-capacity=\"{capacity}\"", "heterogeneity.hospitals=[{ hospital = hospital-02, speed-factor = 2 }]"];
        Assert.Contains("heterogeneity.hospitals", Assert.Throws<ConfigError>(() => ExperimentConfig.Load(null, withNative)).Message);
        string[] withDraws = [$"heterogeneity.fedscale-device-capacity=\"{capacity}\"", "heterogeneity.speed-factor={ distribution = uniform, min = 1, max = 2 }"];
        Assert.Contains("speed-factor", Assert.Throws<ConfigError>(() => ExperimentConfig.Load(null, withDraws)).Message);
        string[] noScale = [$"heterogeneity.fedscale-device-capacity=\"{capacity}\"", "heterogeneity.seconds-per-step=0"];
        Assert.Contains("seconds-per-step", Assert.Throws<ConfigError>(() => ExperimentConfig.Load(null, noScale)).Message);

        var bad = Pickle(new Dictionary<object, object> { [5] = Capacity(10, -1) });
        var badFile = Path.Combine(_dir, "bad.conf");
        File.WriteAllText(badFile, $"fedactors.heterogeneity.fedscale-device-capacity = \"{bad}\"\n");
        var error = Assert.Throws<ConfigError>(() => ExperimentConfig.Load(badFile, [])).Message;
        Assert.Contains($"{badFile}:1", error);
        Assert.Contains("'fedactors.heterogeneity.fedscale-device-capacity'", error);
        Assert.Contains($"{bad}: client 5, 'communication'", error);
        Assert.Contains("does not exist", Assert.Throws<ConfigError>(() => ExperimentConfig.Load(null, ["faults.fedscale-behaviour-trace=nowhere.pkl"])).Message);
    }

    [Fact]
    public async Task Should_not_select_a_hospital_the_fedscale_trace_says_is_offline_in_round_one()
    {
        // Clients 11..14 become hospital-01..04. Client 12 (hospital-02) is off until 10⁶ s, beyond this run's clock;
        // the others are on for all of their 10⁷ s.
        var trace = Pickle(new Dictionary<object, object>
        {
            [11] = Behaviour([0], [10_000_000], 10_000_000), [12] = Behaviour([1_000_000], [2_000_000], 10_000_000),
            [13] = Behaviour([0], [10_000_000], 10_000_000), [14] = Behaviour([0], [10_000_000], 10_000_000),
        }, "client_behave_trace");
        var runs = Path.Combine(_dir, "runs");
        var overrides = TinyRun.Overrides(runs, seed: 5, rounds: 1, minParticipants: 3);
        overrides.Add($"faults.fedscale-behaviour-trace=\"{trace}\"");

        var result = await RunCommand.ExecuteAsync(ExperimentConfig.Load(null, overrides), TextWriter.Null).Within(TimeSpan.FromMinutes(3), "the run");

        var round = Assert.Single(result.Completed.Rounds);
        Assert.Equal(["hospital-01", "hospital-03", "hospital-04"], round.Selected);
        Assert.DoesNotContain("hospital-02", round.Aggregated);
    }
}
