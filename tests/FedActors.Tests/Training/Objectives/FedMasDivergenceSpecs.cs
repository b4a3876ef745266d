using FedActors.Training.Objectives;
using FedActors.Training.Randomness;
using static TorchSharp.torch;

namespace FedActors.Tests.Training.Objectives;

public class FedMasDivergenceSpecs
{
    [Fact]
    public void Should_give_one_divergence_per_sample_on_normalised_vectors()
    {
        // Opposite (4), orthogonal (2), same direction at another scale (0).
        using var projected = tensor(new float[] { 2, 0, 0, 3, 1, 1 }, [3, 2]);
        using var auxiliary = tensor(new float[] { -1, 0, 5, 0, 4, 4 }, [3, 2]);
        using var divergence = FedMasDivergence.PerSample(projected, auxiliary);

        Assert.Equal([3L], divergence.shape);
        var values = divergence.data<float>().ToArray();
        Assert.Equal(4, values[0], 5);
        Assert.Equal(2, values[1], 5);
        Assert.Equal(0, values[2], 5);
    }

    [Fact]
    public void Should_train_the_projector_and_leave_the_frozen_encoder_alone()
    {
        using var generator = new Generator(1);
        using var projected = TorchDraws.Randn(generator, [3, 4]).requires_grad_();
        using var auxiliary = TorchDraws.Randn(generator, [3, 4]).requires_grad_();
        FedMasDivergence.PerSample(projected, auxiliary).mean().backward();
        Assert.True(projected.grad!.abs().sum().item<float>() > 0);
        Assert.Null(auxiliary.grad);
    }
}
