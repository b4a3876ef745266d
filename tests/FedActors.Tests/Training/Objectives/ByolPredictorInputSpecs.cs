using FedActors.Training;
using FedActors.Training.Experiments;
using FedActors.Training.Randomness;
using FedActors.Training.Objectives;
using static TorchSharp.torch;

namespace FedActors.Tests.Training.Objectives;

/// <summary>BYOL's predictor takes the raw projection; only the loss normalises (ALGORITHMS.md §0, issue 23).</summary>
public sealed class ByolPredictorInputSpecs
{
    private static readonly FederatedExperiment Experiment = new(TinyExperiment.Settings(hospitals: 1));

    [Fact]
    public void Should_feed_the_predictor_the_raw_projection_not_the_normalised_one()
    {
        using var model = TorchRuntime.Seeded(3, () => new ByolModel(Experiment.CreateNetwork()));
        model.eval(); // batch-norm on running statistics: each row's output depends on that row alone
        using var scope = NewDisposeScope();
        using var generator = new Generator(5);
        var images = TorchDraws.Rand(generator, [4, 1, 16, 16]);
        using var _ = no_grad();

        // Found by name, so the spec reads the model as it is built, not through a member added for it.
        var predictor = (FedActors.Training.Models.ProjectionHead)model.named_modules().Single(m => m.name == ByolModel.Predictor).module;
        var raw = model.Network.Project(model.Network.Features(images));
        var expected = predictor.forward(raw);
        var fromNormalised = predictor.forward(nn.functional.normalize(raw, p: 2, dim: 1));
        var actual = model.forward(images);

        Assert.True(allclose(actual, expected, rtol: 1e-5, atol: 1e-6), "the prediction is q(z), z the projection before normalising");
        Assert.False(allclose(actual, fromNormalised, rtol: 1e-3, atol: 1e-4), "the prediction is not q(z/‖z‖)");
    }
}
