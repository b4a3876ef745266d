using FedActors.Training.Privacy;

namespace FedActors.Tests.Training.Privacy;

/// <summary>
/// The RDP accountant against published values: TensorFlow Privacy's rdp_accountant tests (compute_rdp and
/// get_privacy_spent, whose figures are checked there against multi-precision integration), and closed forms.
/// </summary>
public sealed class RdpAccountantSpecs
{
    [Fact]
    public void Should_give_the_plain_gaussian_mechanism_alpha_over_two_sigma_squared_and_nothing_for_no_sampling()
    {
        // TF Privacy: compute_rdp(q=1, noise_multiplier=10, steps=1, orders=20) == 0.1; compute_rdp(0, 10, 1, 20) == 0.
        Assert.Equal(0.1, RdpAccountant.SampledGaussianRdp(1, 10, 20), 12);
        Assert.Equal(0, RdpAccountant.SampledGaussianRdp(0, 10, 20));
    }

    [Fact]
    public void Should_match_tensorflow_privacys_published_rdp_of_the_sampled_gaussian_mechanism()
    {
        // compute_rdp(0.1, 2, 10, 5) == 0.07737 (5 places).
        Assert.Equal(0.07737, 10 * RdpAccountant.SampledGaussianRdp(0.1, 2, 5), 5);
        // compute_rdp(0.01, 2.5, 50, [.., 5, 50, 100, ..]) == [.., 0.00218075, 0.023846, 167.416307, ..] (to 1e-5).
        Assert.InRange(50 * RdpAccountant.SampledGaussianRdp(0.01, 2.5, 5), 0.00218075 - 1e-5, 0.00218075 + 1e-5);
        Assert.InRange(50 * RdpAccountant.SampledGaussianRdp(0.01, 2.5, 50), 0.023846 - 1e-5, 0.023846 + 1e-5);
        Assert.InRange(50 * RdpAccountant.SampledGaussianRdp(0.01, 2.5, 100), 167.416307 - 1e-5, 167.416307 + 1e-5);
    }

    [Fact]
    public void Should_convert_rdp_to_epsilon_as_tensorflow_privacy_does()
    {
        // get_privacy_spent(orders 2..32, rdp 1.1 at each, target_delta 1e-5) == (1.32783806176, order 32):
        // 1.1 + log(31/32) - (log 1e-5 + log 32) / 31.
        var (epsilon, order) = RdpAccountant.Epsilon(Enumerable.Range(2, 31).Select(a => (a, 1.1)).ToList(), 1e-5);
        Assert.Equal(32, order);
        Assert.Equal(1.32783806176, epsilon, 10);
    }

    [Fact]
    public void Should_spend_nothing_before_the_first_step_and_more_with_every_step_and_less_with_more_noise()
    {
        Assert.Equal(0, RdpAccountant.Epsilon(0.1, 1.0, 0, 1e-5).Epsilon);
        var spent = Enumerable.Range(1, 5).Select(t => RdpAccountant.Epsilon(0.1, 1.0, t * 10, 1e-5).Epsilon).ToList();
        Assert.Equal(spent.Order(), spent);
        Assert.True(spent.Zip(spent.Skip(1)).All(p => p.First < p.Second));
        Assert.True(RdpAccountant.Epsilon(0.1, 2.0, 50, 1e-5).Epsilon < RdpAccountant.Epsilon(0.1, 1.0, 50, 1e-5).Epsilon);
        // The Gaussian mechanism, no sampling, one step: z = 4.530877117 is exactly (1, 1e-6)-DP (TF Privacy's test, over a
        // fine grid of fractional orders); integer orders can only be looser, and not by much.
        Assert.InRange(RdpAccountant.Epsilon(1, 4.530877117, 1, 1e-6).Epsilon, 1.0, 1.02);
    }

    [Theory]
    [InlineData(-0.1, 1.0, 2)]
    [InlineData(1.1, 1.0, 2)]
    [InlineData(0.5, 0.0, 2)]
    [InlineData(0.5, 1.0, 1)]
    public void Should_refuse_out_of_range_parameters(double q, double z, int order) =>
        Assert.Throws<ArgumentOutOfRangeException>(() => RdpAccountant.SampledGaussianRdp(q, z, order));
}
