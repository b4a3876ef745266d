using FedActors.Training;
using FedActors.Training.Randomness;
using TorchSharp;
using static TorchSharp.torch;

namespace FedActors.Tests.Training;

public class TorchSharpRuntimeSpecs
{
    [Fact]
    public void Should_load_native_torch_and_train_a_conv_net_one_step()
    {
        // On Debian 12 this fails to load libLibTorchSharp.so unless the build's GLIBCXX fix ran.
        var net = TorchRuntime.Seeded(1, () => nn.Sequential(
            nn.Conv2d(1, 4, 3, padding: 1), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(4, 2)));
        using var generator = new Generator(2);
        using var x = TorchDraws.Randn(generator, [8, 1, 8, 8]);
        using var y = tensor(new long[] { 0, 1, 0, 1, 0, 1, 0, 1 });
        var conv = (TorchSharp.Modules.Conv2d)net.children().First();
        using var before = conv.weight!.detach().clone();
        using var optimizer = optim.SGD(net.parameters(), 0.1);

        using var loss = nn.functional.cross_entropy(net.forward(x), y);
        loss.backward();
        Assert.NotNull(conv.weight.grad);
        Assert.True(conv.weight.grad!.abs().sum().item<float>() > 0, "backward produced no gradient for the conv weights");
        optimizer.step();

        Assert.False(before.allclose(conv.weight), "one SGD step did not change the conv weights");
        using var after = nn.functional.cross_entropy(net.forward(x), y);
        Assert.True(after.item<float>() < loss.item<float>(), $"loss did not decrease: {loss.item<float>()} -> {after.item<float>()}");
    }

    [Fact]
    public void Should_refuse_to_build_a_model_outside_Seeded_and_build_it_inside()
    {
        // Outside, its initialisers would draw from torch's global generator beside another thread's seeded build.
        var e = Assert.Throws<InvalidOperationException>(() => new FedActors.Training.Models.SmallCnnEncoder([8, 8, 16, 16]));
        Assert.Contains("SmallCnnEncoder", e.Message);
        Assert.Contains("TorchRuntime.Seeded", e.Message);
        using var first = TorchRuntime.Seeded(4, () => new FedActors.Training.Models.SmallCnnEncoder([8, 8, 16, 16]));
        using var second = TorchRuntime.Seeded(4, () => new FedActors.Training.Models.SmallCnnEncoder([8, 8, 16, 16]));
        Assert.Equal(FedActors.Training.Weights.ModelWeights.FromModule(first).ContentHash, FedActors.Training.Weights.ModelWeights.FromModule(second).ContentHash);
    }

    [Fact]
    public void Should_run_work_on_a_thread_that_ends_with_it_and_pass_back_its_result_or_failure()
    {
        Thread? worker = null;
        var sum = TorchRuntime.OnPassingThread(() =>
        {
            worker = Thread.CurrentThread;
            using var x = torch.ones(3);
            return x.sum().item<float>();
        });

        Assert.Equal(3f, sum);
        Assert.NotSame(Thread.CurrentThread, worker);
        Assert.False(worker!.IsAlive);
        var failure = Assert.Throws<InvalidDataException>(() => TorchRuntime.OnPassingThread<int>(() => throw new InvalidDataException("bad shard")));
        Assert.Equal("bad shard", failure.Message);
    }
}
