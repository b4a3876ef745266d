using FedActors.Actors.Devices;

namespace FedActors.Tests.Actors.Devices;

public class DeviceSlotsSettingsSpecs
{
    [Fact]
    public void Should_resolve_auto_to_every_cuda_device_or_else_the_cpu()
    {
        var auto = new DeviceSlotsSettings { Devices = [DeviceSlotsSettings.Auto] };
        Assert.Equal(["cpu"], auto.ResolveDevices(cudaDevices: 0));
        Assert.Equal(["cuda:0", "cuda:1"], auto.ResolveDevices(cudaDevices: 2));
    }

    [Fact]
    public void Should_canonicalise_device_names()
    {
        var settings = new DeviceSlotsSettings { Devices = ["CPU", "cuda", "cuda:1"] };
        Assert.Equal(["cpu", "cuda:0", "cuda:1"], settings.ResolveDevices(cudaDevices: 2));
    }

    [Theory]
    [InlineData("cuda:2", "not on this node")]
    [InlineData("tpu", "tpu")]
    public void Should_name_a_device_this_node_cannot_lease(string device, string problem)
    {
        var e = Assert.Throws<ArgumentException>(() => new DeviceSlotsSettings { Devices = ["cpu", device] }.ResolveDevices(cudaDevices: 2));
        Assert.Contains(device, e.Message);
        Assert.Contains(problem, e.Message);
    }

    [Fact]
    public void Should_reject_a_device_listed_twice_and_zero_slots()
    {
        Assert.Contains("twice", Assert.Throws<ArgumentException>(() => new DeviceSlotsSettings { Devices = ["cuda:0", "cuda"] }.ResolveDevices(1)).Message);
        Assert.Throws<ArgumentException>(() => new DeviceSlotsSettings { SlotsPerDevice = 0 }.ResolveDevices(0));
    }
}
