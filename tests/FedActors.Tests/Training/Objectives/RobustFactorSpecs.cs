using FedActors.Training.Objectives;

namespace FedActors.Tests.Training.Objectives;

public sealed class RobustFactorSpecs
{
    [Fact]
    public void Should_be_the_dot_product_of_the_normalised_measurements_on_a_hand_made_case()
    {
        // w = [1, 3] / 4 = [0.25, 0.75]; ŵ = [2, 2] / 4 = [0.5, 0.5]; RF = 0.125 + 0.375 = 0.5.
        Assert.Equal(0.5, RobustFactor.Compute([1, 3], [2, 2]), 12);
        // w = [1, 2] / 3, ŵ = [3, 1] / 4: RF = 3/12 + 2/12 = 5/12.
        Assert.Equal(5.0 / 12, RobustFactor.Compute([1, 2], [3, 1]), 12);
    }

    [Fact]
    public void Should_ignore_a_class_the_client_does_not_have()
    {
        // Class 2 is absent (NaN before training, or never seen during it): the result is the two-class one.
        Assert.Equal(5.0 / 12, RobustFactor.Compute([1, 2, double.NaN], [3, 1, 7]), 12);
        Assert.Equal(5.0 / 12, RobustFactor.Compute([1, 2, 9], [3, 1, double.NaN]), 12);
    }

    [Fact]
    public void Should_give_zero_when_nothing_was_measured_and_refuse_negative_divergences()
    {
        Assert.Equal(0, RobustFactor.Compute([double.NaN, double.NaN], [1, 1]));
        Assert.Equal(0, RobustFactor.Compute([0, 0], [1, 1]));
        Assert.Throws<ArgumentException>(() => RobustFactor.Compute([1, -1], [1, 1]));
        Assert.Throws<ArgumentException>(() => RobustFactor.Compute([1, 1], [1]));
    }

    [Fact]
    public void Should_average_each_class_over_its_samples_and_mark_an_empty_class()
    {
        var means = RobustFactor.ClassMeans([6, 0, 3], [3, 0, 1]);

        Assert.Equal(2, means[0]);
        Assert.True(double.IsNaN(means[1]));
        Assert.Equal(3, means[2]);
    }
}
