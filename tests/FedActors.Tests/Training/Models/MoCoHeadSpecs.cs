using FedActors.Training;
using FedActors.Training.Experiments;
using FedActors.Training.Methods;
using FedActors.Training.Models;
using FedActors.Training.Objectives;
using FedActors.Training.Randomness;
using FedActors.Training.Weights;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace FedActors.Tests.Training.Models;

/// <summary>
/// The projection head's norm is a constructor choice (issue 23): MoCo v2's head is Linear–ReLU–Linear
/// (ALGORITHMS.md §0), BYOL's projector and predictor Linear–BN–ReLU–Linear.
/// </summary>
public sealed class MoCoHeadSpecs
{
    private static readonly FederatedExperiment Experiment = new(TinyExperiment.Settings(hospitals: 1));

    private static bool HasBatchNorm(nn.Module module) => module.modules().Any(m => m is BatchNorm);

    [Fact]
    public void Should_build_a_head_without_any_batch_norm_module_when_told_so_mocos_linear_relu_linear()
    {
        using var head = TorchRuntime.Seeded(1, () => new ProjectionHead(16, 32, 8, normalisation: HeadNorm.None));
        Assert.False(HasBatchNorm(head));
        Assert.Equal(HeadNorm.None, head.Normalisation);
        Assert.Equal(["hidden.bias", "hidden.weight", "output.bias", "output.weight"], ModelWeights.FromModule(head).Tensors.Select(t => t.Name).Order());

        // Linear–ReLU–Linear, by hand.
        using var scope = NewDisposeScope();
        using var generator = new Generator(2);
        var x = TorchDraws.Rand(generator, [3, 16]);
        var w = ModelWeights.FromModule(head);
        Tensor T(string n) => tensor(w[n].Values, w[n].Shape);
        var expected = nn.functional.relu(x.matmul(T("hidden.weight").t()) + T("hidden.bias")).matmul(T("output.weight").t()) + T("output.bias");
        head.train();
        Assert.True(allclose(head.forward(x), expected, rtol: 1e-5, atol: 1e-6));

        using var encoder = TorchRuntime.Seeded(1, () => ProjectedEncoder.SmallCnn([8, 8, 8, 8], 8, headNorm: HeadNorm.None));
        Assert.False(HasBatchNorm(encoder.Head));
    }

    private static readonly FederatedExperiment MoCoV2Head =
        new(TinyExperiment.Settings(hospitals: 1) with { MoCo = new MoCoV2Options { HeadNorm = HeadNorm.None } });

    [Theory]
    [InlineData("fedmoco")]
    [InlineData("fedmoco-plain")]
    [InlineData("fedprox")]
    public void Should_give_the_moco_methods_global_and_every_client_mocos_linear_relu_linear_head_when_moco_head_norm_is_none(string method)
    {
        var registered = MethodRegistry.Default.Find(method)!.Create(MoCoV2Head, MethodSettings.Defaults);
        var names = registered.InitialGlobal().Tensors.Select(t => t.Name).ToList();
        Assert.Equal(["projection.hidden.bias", "projection.hidden.weight", "projection.output.bias", "projection.output.weight"],
            names.Where(n => n.StartsWith("projection.")).Order());

        using var client = registered.CreateClient("hospital-01");
        Assert.Equal(names.Order(), client.ExportWeights().Tensors.Select(t => t.Name).Order());
    }

    [Fact]
    public void Should_read_moco_head_norm_none_from_config()
    {
        Assert.Equal(HeadNorm.None, FedActors.Host.Configuration.ExperimentConfig.Load(null, ["moco.head-norm=none"]).Experiment.MoCo.HeadNorm);
        Assert.Equal(HeadNorm.BatchNorm, FedActors.Host.Configuration.ExperimentConfig.Load(null, []).Experiment.MoCo.HeadNorm);
    }

    [Fact]
    public void Should_keep_the_batch_normed_moco_head_by_default_and_draw_the_same_linear_weights_as_mocos_head()
    {
        Assert.Equal(HeadNorm.BatchNorm, new MoCoV2Options().HeadNorm);
        var normed = Experiment.InitialMoCoGlobal();
        Assert.Contains("projection.norm.running_mean", normed.Tensors.Select(t => t.Name));
        // The norm has no random draws: both heads take the same Linear weights (and backbone) from the same seed.
        var plain = MoCoV2Head.InitialMoCoGlobal();
        foreach (var t in plain.Tensors) Assert.Equal(t.Values, normed[t.Name].Values);
        Assert.Equal(normed.Tensors.Count - plain.Tensors.Count, normed.Tensors.Count(t => t.Name.StartsWith("projection.norm.")));
    }

    [Fact]
    public void Should_keep_batch_norm_in_byols_projector_and_predictor()
    {
        var global = new FedByolMethod(Experiment).InitialGlobal();
        var names = global.Tensors.Select(t => t.Name).ToList();
        Assert.Contains("network.projection.norm.running_mean", names);
        Assert.Contains("predictor.norm.running_mean", names);
        using var head = TorchRuntime.Seeded(1, () => new ProjectionHead(16, 32, 8, "predictor"));
        Assert.True(HasBatchNorm(head));
        Assert.Equal(HeadNorm.BatchNorm, head.Normalisation);
    }
}
