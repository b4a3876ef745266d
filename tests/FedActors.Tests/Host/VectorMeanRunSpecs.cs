using FedActors.Host.Commands;
using FedActors.Host.Configuration;
using FedActors.Tests.Methods;
using FedActors.Training.Experiments;
using FedActors.Training.Methods;

namespace FedActors.Tests.Host;

/// <summary>
/// A method defined and registered in this project (<see cref="VectorMeanMethod"/>), chosen by name in a config
/// file and run by <c>fedactors run</c>'s own path: its key is known and checked, and its run ends where the
/// hand-computed mean says.
/// </summary>
[Collection(InProcessRuns.Name)]
public sealed class VectorMeanRunSpecs : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("fedactors-vector-mean-").FullName;

    private static readonly MethodRegistry Methods = MethodRegistry.BuiltIn().Register(VectorMeanMethod.Registration);

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    /// <summary>An experiment file choosing the method, its step on line 3; unequal sites, so the weights are not all equal.</summary>
    private string ConfigFile(string step)
    {
        var file = Path.Combine(_directory, "vector-mean.conf");
        File.WriteAllText(file, $"fedactors {{\n  method = {VectorMeanMethod.MethodName}\n  {VectorMeanMethod.MethodName} {{ step = {step} }}\n" +
                                "  data { source = synthetic-skin, site-sizes = [4, 3, 2, 1] }\n}\n");
        return file;
    }

    [Fact]
    public async Task Should_end_a_run_of_a_spec_defined_method_at_the_hand_computed_weighted_mean()
    {
        var config = ExperimentConfig.Load(ConfigFile("0.5"), TinyRun.Overrides(_directory, seed: 3, rounds: 2), Methods);

        var result = await RunCommand.ExecuteAsync(config, TextWriter.Null).Within(TimeSpan.FromMinutes(3), "the run");

        // Every hospital's shard, as the run built them: m̄ = Σ n_i m_i / Σ n_i; two rounds of step 0.5 from 0 end at 0.75 m̄.
        var sites = new FederatedExperiment(config.Experiment).Sites.Sites.Select(s => s.Train).ToList();
        Assert.Equal(4, sites.Select(s => s.Count).Distinct().Count());
        var samples = sites.Sum(s => s.Count);
        var means = sites.Select(VectorMeanMethod.MeanImage).ToList();
        var final = result.Completed.FinalGlobal[VectorMeanMethod.Tensor].Values;
        Assert.Equal(means[0].Length, final.Length);
        for (var k = 0; k < final.Length; k++)
            Assert.Equal(0.75 * sites.Select((s, i) => s.Count * means[i][k]).Sum() / samples, final[k], 1e-3);
        Assert.All(result.Completed.Rounds, r => Assert.Equal(4, r.Aggregated.Count));
        Assert.Equal(result.Completed.FinalGlobal.ContentHash,
            FedActors.Training.Weights.ModelWeights.Load(Path.Combine(result.Directory.Path, FedActors.Host.Runs.RunDirectory.FinalWeightsFile)).ContentHash);
        Assert.True(double.IsNaN(result.TrainedProbeAccuracy)); // no encoder: nothing probed
    }

    [Fact]
    public void Should_name_the_key_and_line_of_a_bad_value_of_a_spec_defined_methods_key()
    {
        var file = ConfigFile("2");

        var error = Assert.Throws<ConfigError>(() => ExperimentConfig.Load(file, [], Methods));

        Assert.Contains($"{file}:3", error.Message);
        Assert.Contains($"'fedactors.{VectorMeanMethod.Step.Name}' must be between 0 and 1, found 2", error.Message);
    }

    [Fact]
    public void Should_know_a_registered_methods_keys_only_in_a_registry_that_holds_it()
    {
        var error = Assert.Throws<ConfigError>(() => ExperimentConfig.Load(null, [$"{VectorMeanMethod.Step.Name}=0.5"], MethodRegistry.BuiltIn()));

        Assert.Contains($"unknown key 'fedactors.{VectorMeanMethod.Step.Name}'", error.Message);
        Assert.Equal(1.0, ExperimentConfig.Load(null, [], Methods).Method.Settings.Get(VectorMeanMethod.Step));
    }
}
