using FedActors.Training;
using FedActors.Training.Objectives;
using FedActors.Training.Randomness;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace FedActors.Tests.Training.Objectives;

[Collection(GarbageCollectorStress.Name)]
public class ScalarSafeOptimizerSpecs
{
    private static Sequential Net() => TorchRuntime.Seeded(3, () => nn.Sequential(nn.Linear(6, 5), nn.ReLU(), nn.Linear(5, 3)));

    /// <summary>The parameters after <paramref name="steps"/> steps of cross-entropy on fixed random batches.</summary>
    private static float[][] Train(Func<IEnumerable<Parameter>, OptimizerHelper> create, int steps = 6)
    {
        using var net = Net();
        using var optimizer = create(net.parameters());
        for (var step = 0; step < steps; step++)
        {
            using var scope = NewDisposeScope();
            using var generator = new Generator(10UL + (ulong)step);
            var x = TorchDraws.Randn(generator, [8, 6]);
            var y = TorchDraws.Randint(generator, 0, 3, [8]);
            optimizer.zero_grad();
            nn.functional.cross_entropy(net.forward(x), y).backward();
            optimizer.step();
        }
        return net.parameters().Select(p => p.data<float>().ToArray()).ToArray();
    }

    public static TheoryData<string> Kinds => ["sgd", "adam", "adamw"];

    private static Func<IEnumerable<Parameter>, OptimizerHelper> Safe(string kind) => kind switch
    {
        "sgd" => p => Optimizers.Sgd(p, 0.1, momentum: 0.9, weightDecay: 0.01),
        "adam" => p => Optimizers.Adam(p, 0.01, weightDecay: 0.01),
        _ => p => Optimizers.AdamW(p, 0.01, weightDecay: 0.05),
    };

    private static Func<IEnumerable<Parameter>, OptimizerHelper> TorchSharps(string kind) => kind switch
    {
        "sgd" => p => optim.SGD(p, 0.1, momentum: 0.9, weight_decay: 0.01),
        "adam" => p => optim.Adam(p, 0.01, weight_decay: 0.01),
        _ => p => optim.AdamW(p, 0.01, weight_decay: 0.05),
    };

    [Theory]
    [MemberData(nameof(Kinds))]
    public void Should_step_bit_for_bit_like_TorchSharps_own_optimizer(string kind)
    {
        var safe = Train(Safe(kind));
        var reference = Train(TorchSharps(kind));
        var untrained = Train(Safe(kind), steps: 0);

        Assert.Equal(reference, safe);
        Assert.NotEqual(untrained, safe);
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public void Should_continue_from_a_saved_state_like_one_never_saved(string kind)
    {
        using var net = Net();
        using var twin = Net();
        using var optimizer = Safe(kind)(net.parameters());
        void Step(Sequential model, OptimizerHelper o, int seed)
        {
            using var scope = NewDisposeScope();
            o.zero_grad();
            using var generator = new Generator((ulong)seed);
            var x = TorchDraws.Randn(generator, [8, 6]);
            model.forward(x).pow(2).mean().backward();
            o.step();
        }
        using var twinOptimizer = Safe(kind)(twin.parameters());
        for (var i = 0; i < 3; i++) { Step(net, optimizer, i); Step(twin, twinOptimizer, i); }
        // The twin's optimiser is replaced by a fresh one loaded from its saved state.
        var state = Optimizers.Save(twinOptimizer);
        using var restored = Safe(kind)(twin.parameters());
        Optimizers.Restore("spec", restored, state, CPU);
        for (var i = 3; i < 6; i++) { Step(net, optimizer, i); Step(twin, restored, i); }

        Assert.Equal(net.parameters().Select(p => p.data<float>().ToArray()), twin.parameters().Select(p => p.data<float>().ToArray()));
    }

    [Fact]
    public async Task Should_step_while_the_garbage_collector_finalizes_beside_it()
    {
        // TorchSharp's own steps fail here within a few thousand steps ("Expected false to be true" from
        // c10's Scalar): a collection finalizes the step's temporary Scalars while libtorch reads them.
        var parameters = Enumerable.Range(0, 8).Select(_ => new Parameter(ones(2))).ToList();
        foreach (var p in parameters) p.grad = ones(2);
        var optimizers = new[] { "sgd", "adam", "adamw" }.Select(k => Safe(k)(parameters)).ToList();
        using var done = new CancellationTokenSource();
        var collector = Task.Run(() =>
        {
            while (!done.IsCancellationRequested) { GC.Collect(0); GC.WaitForPendingFinalizers(); }
        });
        try
        {
            for (var step = 0; step < 6_000; step++) optimizers[step % optimizers.Count].step();
        }
        finally
        {
            done.Cancel();
            await collector; // its loop ends with the cancellation
            foreach (var o in optimizers) o.Dispose();
        }
        Assert.All(parameters, p => Assert.True(p.isfinite().all().item<bool>()));
    }
}
