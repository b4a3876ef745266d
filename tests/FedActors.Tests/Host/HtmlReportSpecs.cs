using System.Diagnostics;
using System.Text.RegularExpressions;
using FedActors.Host.Commands;
using FedActors.Host.Reports;
using FedActors.Host.Runs;
using FedActors.Training.Experiments;

namespace FedActors.Tests.Host;

/// <summary>A fact that loads pages in headless Chromium: skipped, saying why, where no chromium binary is on the PATH (CI installs one).</summary>
public sealed class ChromiumFactAttribute : FactAttribute
{
    /// <summary>The chromium binary on the PATH, or null.</summary>
    public static string? Binary { get; } = new[] { "chromium", "chromium-browser" }
        .SelectMany(name => (Environment.GetEnvironmentVariable("PATH") ?? "").Split(Path.PathSeparator).Select(dir => Path.Combine(dir, name)))
        .FirstOrDefault(File.Exists);

    public ChromiumFactAttribute()
    {
        if (Binary is null) Skip = "no chromium on the PATH: the HTML report's browser spec loads the page in Debian's chromium package (apt-get install chromium; .ci/run installs it)";
    }
}

/// <summary>The run's and the comparison's self-contained HTML reports (issue 26), structurally and in a real headless browser.</summary>
public sealed class HtmlReportSpecs : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("fedactors-html-").FullName;

    /// <summary>A finished run of 6 hospitals and 3 rounds: hospital-02 dropped in round 2, a worker crash in round 3; its plots drawn.</summary>
    private string Run(string name, int seed)
    {
        var dir = Directory.CreateDirectory(Path.Combine(_root, "runs", name)).FullName;
        File.WriteAllText(Path.Combine(dir, RunDirectory.ResolvedConfigFile), $"fedactors {{\n  seed = {seed}\n  method = fedmoco-plain\n  rounds {{ count = 3 }}\n  data {{ hospitals = 6 }}\n}}\n");
        File.WriteAllText(Path.Combine(dir, RunDirectory.MetricsFile),
            "round,selected,accepted,dropped,mean_loss,bytes_down,bytes_up,wall_seconds,probe_accuracy\n1,6,6,0,5.5,6000000,6000000,10,\n2,6,5,1,5.25,6000000,5000000,10,0.6\n3,6,6,0,5.0,6000000,6000000,10,0.7\n");
        var ids = Enumerable.Range(0, 6).Select(h => ExperimentSettings.HospitalIdOf(h, 6)).ToList();
        var events = new List<string>();
        for (var r = 1; r <= 3; r++)
            foreach (var id in ids)
            {
                events.Add($$"""{"round":{{r}},"attempt":1,"kind":"selected","hospital":"{{id}}","reason":"selected","sim_s":0}""");
                var kind = r == 2 && id == "hospital-02" ? "dropped" : "accepted";
                events.Add($$"""{"round":{{r}},"attempt":1,"kind":"{{kind}}","hospital":"{{id}}","reason":"{{(kind == "dropped" ? "random dropout" : "arrived")}}","sim_s":1}""");
            }
        events.Add("""{"round":3,"attempt":1,"kind":"worker-crash","hospital":null,"reason":"worker-1 <killed>","sim_s":1.5}""");
        File.WriteAllLines(Path.Combine(dir, RunDirectory.EventsFile), events);
        File.WriteAllText(Path.Combine(dir, RunDirectory.FinalWeightsFile), "");
        RunPlots.Write(dir, ids, new RunPlots.Baselines(0.25, 0.5));
        return dir;
    }

    [Fact]
    public void Should_hold_the_runs_tables_plots_config_and_faults_in_one_file_with_nothing_fetched()
    {
        var dir = Run("run", 7);

        var html = File.ReadAllText(HtmlReport.WriteRun(dir));

        // The three plots, embedded byte for byte.
        var images = Regex.Matches(html, "src=\"data:image/png;base64,([^\"]+)\"").Select(m => Convert.FromBase64String(m.Groups[1].Value)).ToList();
        Assert.Equal(3, images.Count);
        Assert.Equal(File.ReadAllBytes(Path.Combine(dir, RunPlots.Directory, RunPlots.Evaluation)), images[0]);
        // Nothing from elsewhere, no script.
        Assert.DoesNotMatch("(src|href)=\"(?!data:)", html);
        Assert.DoesNotContain("<script", html);
        // Rounds, the fault rows marked, the timeline per round, the config.
        Assert.Contains("<tr><td>2</td><td>6</td><td>5</td><td>1</td><td>5.25</td>", html);
        Assert.Contains("<tr class=\"fault\"><td>2</td><td>1</td><td class=\"text\">dropped</td><td class=\"text\">hospital-02</td><td class=\"text\">random dropout</td>", html);
        Assert.Contains("<tr class=\"fault\"><td>3</td><td>1</td><td class=\"text\">worker-crash</td><td class=\"text\">(round)</td><td class=\"text\">worker-1 &lt;killed&gt;</td>", html);
        Assert.Contains("<tr class=\"fault\"><td>2</td><td class=\"text\">selected 6, accepted 5, <b>dropped 1</b></td></tr>", html);
        Assert.Contains("<tr><td>1</td><td class=\"text\">selected 6, accepted 6</td></tr>", html);
        Assert.Contains("<pre>fedactors {\n  seed = 7\n", html);
        Assert.Contains("method fedmoco-plain, seed 7, 3 of 3 rounds, 6 hospitals; status completed", html);
    }

    [Fact]
    public void Should_turn_the_comparison_into_a_page_of_its_tables_and_plots()
    {
        var runs = new[] { Run("a", 1), Run("b", 2) };

        ReportCommand.Execute(ReportCommand.Parse([.. runs, "--html", "--title", "Two seeds"]), ["report"], TextWriter.Null);

        var html = File.ReadAllText(Path.Combine(_root, "runs", "report.html"));
        Assert.Contains("<title>Two seeds</title>", html);
        Assert.Contains("<th class=\"text\">variant</th><th class=\"text\">seeds</th><th class=\"text\">probe_accuracy</th>", html);
        Assert.Contains("<td class=\"text\">all runs</td><td>1, 2</td><td>0.700 ± 0.000</td>", html);
        Assert.Single(Regex.Matches(html, "<img alt=\"probe accuracy per round, mean over seeds\" src=\"data:image/png;base64,"));
        Assert.Matches("<pre>fedactors\\.[^<]*\nfedactors\\.data\\.hospitals = 6\n", html); // the configuration the runs share
        Assert.DoesNotContain("![", html);
        Assert.DoesNotContain("|---", html);
    }

    /// <summary>Loads <paramref name="page"/> in headless Chromium: its exit code, what it logged, and a screenshot.</summary>
    private async Task<(int Exit, string Log, string Screenshot)> Load(string page, int height)
    {
        var screenshot = Path.Combine(_root, Path.GetFileNameWithoutExtension(page) + "-" + Guid.NewGuid().ToString("N")[..8] + ".png");
        var start = new ProcessStartInfo(ChromiumFactAttribute.Binary!)
        {
            ArgumentList =
            {
                "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", $"--user-data-dir={Path.Combine(_root, "profile")}",
                "--enable-logging=stderr", "--v=0", $"--window-size=1280,{height}", "--hide-scrollbars", $"--screenshot={screenshot}", new Uri(page).AbsoluteUri,
            },
            RedirectStandardError = true, RedirectStandardOutput = true,
        };
        using var chromium = Process.Start(start)!;
        var log = chromium.StandardError.ReadToEndAsync();
        _ = chromium.StandardOutput.ReadToEndAsync();
        using var limit = new CancellationTokenSource(TimeSpan.FromMinutes(2)); // a hung browser fails the spec instead of the suite
        try { await chromium.WaitForExitAsync(limit.Token); }
        catch (OperationCanceledException)
        {
            chromium.Kill(entireProcessTree: true);
            Assert.Fail("chromium did not finish loading the page");
        }
        return (chromium.ExitCode, await log, screenshot);
    }

    /// <summary>Pixels of the screenshot within 12 of <paramref name="hex"/> in each channel.</summary>
    private static int PixelsOf(string png, string hex)
    {
        using var bitmap = SkiaSharp.SKBitmap.Decode(png);
        var (r, g, b) = (Convert.ToInt32(hex[1..3], 16), Convert.ToInt32(hex[3..5], 16), Convert.ToInt32(hex[5..7], 16));
        var count = 0;
        for (var y = 0; y < bitmap.Height; y++)
        for (var x = 0; x < bitmap.Width; x++)
        {
            var p = bitmap.GetPixel(x, y);
            if (Math.Abs(p.Red - r) <= 12 && Math.Abs(p.Green - g) <= 12 && Math.Abs(p.Blue - b) <= 12) count++;
        }
        return count;
    }

    [ChromiumFact]
    public async Task Should_load_in_headless_chromium_without_a_console_error_and_show_the_plots()
    {
        var page = HtmlReport.WriteRun(Run("browser", 7));

        var (exit, log, screenshot) = await Load(page, 2000);

        Assert.Equal(0, exit);
        Assert.DoesNotContain(":CONSOLE", log); // the page logs nothing: no error, no failed load
        Assert.True(File.Exists(screenshot), $"no screenshot; chromium said: {log}");
        // The participation plot's accepted green and the evaluation plot's probe blue are drawn only by the plots.
        Assert.True(PixelsOf(screenshot, "#2ca02c") > 2_000, "no participation plot in the screenshot");
        Assert.True(PixelsOf(screenshot, "#1f77b4") > 200, "no evaluation plot in the screenshot");
        // The same page without its plots has neither: the colours come from the images, not the page.
        var bare = Path.Combine(_root, "bare.html");
        File.WriteAllText(bare, Regex.Replace(File.ReadAllText(page), "<figure>.*?</figure>", ""));
        var (_, _, bareShot) = await Load(bare, 2000);
        Assert.Equal(0, PixelsOf(bareShot, "#2ca02c"));
    }

    public void Dispose() => Directory.Delete(_root, recursive: true);
}
