using System.Globalization;
using CsCheck;
using FedActors.Actors.Simulation;
using FedActors.Training.Data;
using FedActors.Training.Randomness;

namespace FedActors.Tests.Actors.Simulation;

/// <summary>
/// <see cref="AvailabilityTrace"/>: loaded from a CSV in a temporary folder of its own, a trace says a hospital is on
/// exactly where its file's intervals (touching ones joined) say so; every bad row is named by file, line and field.
/// Properties run on fixed cases (<see cref="SeededProperty"/>).
/// </summary>
public sealed class AvailabilityTraceSpecs : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("fedactors-trace-").FullName;
    private int _files;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private string Write(string text)
    {
        var path = Path.Combine(_dir, $"trace-{++_files}.csv");
        File.WriteAllText(path, text);
        return path;
    }

    private static string Hospital(int i) => $"hospital-{i:D2}";

    /// <summary>Up to 6 hospitals with up to 5 intervals each; starts and lengths on a quarter-second grid, so touching and overlapping intervals are common.</summary>
    private static readonly Gen<Dictionary<string, OnInterval[]>> Traces =
        Gen.Select(Gen.Int[0, 400], Gen.Int[1, 80])
            .Select((start, length) => new OnInterval(start / 4.0, (start + length) / 4.0))
            .Array[1, 5]
            .Array[1, 6]
            .Select(perHospital => perHospital.Select((list, i) => (Hospital(i + 1), list)).ToDictionary(x => x.Item1, x => x.list));

    /// <summary>The model: where <paramref name="t"/> falls in a stretch of joined (touching or overlapping) intervals, its end.</summary>
    private static double? ExpectedOnUntil(IEnumerable<OnInterval> intervals, double t)
    {
        var stretches = new List<(double Start, double End)>();
        foreach (var i in intervals.OrderBy(i => i.Start))
            if (stretches.Count > 0 && i.Start <= stretches[^1].End) stretches[^1] = (stretches[^1].Start, Math.Max(stretches[^1].End, i.End));
            else stretches.Add((i.Start, i.End));
        return stretches.Where(s => s.Start <= t && t < s.End).Select(s => (double?)s.End).FirstOrDefault();
    }

    /// <summary>Times worth asking about: every edge, just either side of it, midpoints, and far beyond.</summary>
    private static IEnumerable<double> Probes(IEnumerable<OnInterval> intervals) =>
        intervals.SelectMany(i => new[] { i.Start, i.End, (i.Start + i.End) / 2, i.Start - 0.125, i.End - 0.125, i.End + 0.125 })
            .Where(t => t >= 0).Append(0).Append(1e9);

    [Fact]
    public void Should_say_each_hospital_is_on_exactly_when_its_file_says_so()
    {
        SeededProperty.ForAll(Gen.Select(Traces, Gen.ULong), t =>
        {
            var (intervals, shuffleSeed) = t;
            // One row per interval, in shuffled order and with the columns in another order than documented.
            var rows = intervals.SelectMany(kv => kv.Value.Select(i => string.Create(CultureInfo.InvariantCulture, $"{i.End:R},{kv.Key},{i.Start:R}"))).ToList();
            new SeededRandom(shuffleSeed).Shuffle(rows);
            var path = Write("end_s,hospital,start_s\n" + string.Join("\n", rows) + "\n");

            var trace = AvailabilityTrace.Load(path);

            Assert.Equal(path, trace.Source);
            Assert.Equal(intervals.Keys.Order(), trace.TracedHospitals.Order());
            foreach (var (hospital, list) in intervals)
                foreach (var time in Probes(intervals.Values.SelectMany(x => x)))
                {
                    var expected = ExpectedOnUntil(list, time);
                    Assert.True(expected == trace.OnUntil(hospital, time), $"{hospital} at {time}s: expected on until {expected?.ToString() ?? "(off)"}, trace says {trace.OnUntil(hospital, time)?.ToString() ?? "(off)"}");
                    Assert.Equal(expected is not null, trace.IsOn(hospital, time));
                }
            // A hospital the file does not name is always on.
            Assert.True(trace.IsOn("hospital-99", 12.5));
            Assert.Equal(double.PositiveInfinity, trace.OnUntil("hospital-99", 12.5));
        }, cases: 60, print: t => string.Join("; ", t.Item1.Select(kv => $"{kv.Key}: {string.Join(" ", kv.Value.Select(i => $"[{i.Start}, {i.End})"))}")));
    }

    [Fact]
    public void Should_treat_intervals_as_half_open_and_join_touching_ones()
    {
        var trace = AvailabilityTrace.Load(Write("hospital,start_s,end_s\nhospital-01,0,10\nhospital-01,10,15\nhospital-01,20,30\nhospital-02,5.5,6.25\n"));

        Assert.Equal(15, trace.OnUntil("hospital-01", 3)); // [0, 10) and [10, 15) are one stretch
        Assert.Equal(15, trace.OnUntil("hospital-01", 10));
        Assert.Null(trace.OnUntil("hospital-01", 15));
        Assert.False(trace.IsOn("hospital-01", 19.999));
        Assert.Equal(30, trace.OnUntil("hospital-01", 20));
        Assert.False(trace.IsOn("hospital-01", 30));
        Assert.False(trace.IsOn("hospital-02", 5.49));
        Assert.Equal(6.25, trace.OnUntil("hospital-02", 5.5));
    }

    [Fact]
    public void Should_say_everyone_is_always_on_without_a_trace()
    {
        SeededProperty.ForAll(Gen.Select(Gen.String, Gen.Double[0, 1e12]), t =>
        {
            Assert.True(AvailabilityTrace.AlwaysOn.IsOn(t.Item1, t.Item2));
            Assert.Equal(double.PositiveInfinity, AvailabilityTrace.AlwaysOn.OnUntil(t.Item1, t.Item2));
        });
        Assert.Empty(AvailabilityTrace.AlwaysOn.TracedHospitals);
    }

    [Theory]
    [InlineData("hospital,start_s,end_s\nhospital-01,0,10\n,5,6\n", "line 3, hospital", "is empty")]
    [InlineData("hospital,start_s,end_s\nhospital-42,0,10\n", "line 2, hospital", "'hospital-42' is not a hospital of this experiment")]
    [InlineData("hospital,start_s,end_s\nhospital-01,abc,10\n", "line 2, start_s", "must be a number of seconds >= 0, found 'abc'")]
    [InlineData("hospital,start_s,end_s\nhospital-01,-1,10\n", "line 2, start_s", "found '-1'")]
    [InlineData("hospital,start_s,end_s\nhospital-01,0,NaN\n", "line 2, end_s", "found 'NaN'")]
    [InlineData("hospital,start_s,end_s\nhospital-01,0,Infinity\n", "line 2, end_s", "found 'Infinity'")]
    [InlineData("hospital,start_s,end_s\nhospital-01,0,10\nhospital-02,50,20\n", "line 3, end_s", "20 is not after start_s 50")]
    [InlineData("hospital,start_s,end_s\n\nhospital-01,5,5\n", "line 3, end_s", "5 is not after start_s 5")] // blank lines count
    [InlineData("hospital,start_s,end_s\nhospital-01,0\n", "line 2", "expected 3 fields as in the header, found 2")]
    [InlineData("hospital,start_s,stop_s\nhospital-01,0,10\n", "column 'end_s'", "not in the header; found hospital, start_s, stop_s")]
    [InlineData("", "header", "the file is empty")]
    public void Should_name_the_file_line_and_field_of_a_bad_row(string text, string field, string problem)
    {
        var path = Write(text);

        var e = Assert.Throws<DataFormatException>(() => AvailabilityTrace.Load(path, ["hospital-01", "hospital-02"]));

        Assert.Equal(path, e.File);
        Assert.Equal(field, e.Field);
        Assert.StartsWith($"{path}: {field}: ", e.Message);
        Assert.Contains(problem, e.Message);
    }

    [Fact]
    public void Should_name_a_missing_trace_file()
    {
        var path = Path.Combine(_dir, "no-such-trace.csv");
        var e = Assert.Throws<DataFormatException>(() => AvailabilityTrace.Load(path));
        Assert.Equal((path, "file"), (e.File, e.Field));
        Assert.Contains("not found", e.Message);
    }

    [Fact]
    public void Should_take_any_hospital_when_not_told_which_the_experiment_has()
    {
        var trace = AvailabilityTrace.Load(Write("hospital,start_s,end_s\nward-7,1,2\n"));
        Assert.Equal(["ward-7"], trace.TracedHospitals);
    }

    [Theory]
    [InlineData(-1.0, 5.0)]
    [InlineData(5.0, 5.0)]
    [InlineData(6.0, 5.0)]
    [InlineData(double.NaN, 5.0)]
    public void Should_refuse_a_bad_interval_naming_the_source_and_hospital(double start, double end)
    {
        var e = Assert.Throws<ArgumentException>(() => new AvailabilityTrace(
            new Dictionary<string, IReadOnlyList<OnInterval>> { ["hospital-03"] = [new OnInterval(0, 1), new OnInterval(start, end)] }, "spec trace"));
        Assert.StartsWith("spec trace: hospital 'hospital-03': interval [", e.Message);
    }
}
