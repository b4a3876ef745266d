using FedActors.Training;
using FedActors.Training.Data;
using FedActors.Training.Experiments;
using FedActors.Training.Methods;
using FedActors.Training.Models;
using FedActors.Training.Objectives;
using FedActors.Training.Weights;

namespace FedActors.Tests.Training.Models;

/// <summary>
/// A passivated hospital is rebuilt into networks another hospital parked, then loaded from its snapshot: for every
/// method, it must go on exactly as a learner built new and loaded from the same snapshot.
/// </summary>
public sealed class NetworkPoolSpecs : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("fedactors-pool-").FullName;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    /// <summary>Fed-MAS needs an auxiliary encoder file: a seeded network of the experiment's architecture.</summary>
    private MethodSettings SettingsOf(string name, FederatedExperiment experiment)
    {
        if (name != "fedmas") return MethodSettings.Defaults;
        using var network = FedActors.Training.TorchRuntime.Seeded(11, experiment.CreateNetwork);
        var weights = ModelWeights.FromModule(network);
        var path = Path.Combine(_directory, "auxiliary.weights");
        weights.Save(path);
        return MethodSettings.Defaults.With(ImbalancedClassificationMethod.Auxiliary, path).With(ImbalancedClassificationMethod.AuxiliaryHash, weights.ContentHash);
    }

    /// <summary>Every method of the project with networks (the no-pretraining baseline has none).</summary>
    public static TheoryData<string> Methods => new(MethodRegistry.BuiltIn().Names.Where(n => n != "none"));

    private static ExperimentSettings SettingsFor(string method) => MethodRegistry.BuiltIn().Find(method)!.Data switch
    {
        MethodData.Volumes => TinyExperiment.Volumetric(hospitals: 2),
        MethodData.LabelledImages => TinyExperiment.Skewed(hospitals: 2),
        _ => TinyExperiment.Settings(hospitals: 2),
    };

    private static void TrainRound(ILocalLearner learner, SiteData site, MethodPayloads broadcast, int round, ModelWeights global)
    {
        var client = learner as IFederatedClient;
        client?.ReceiveBroadcast(round, broadcast);
        learner.LoadGlobal(global);
        learner.Train(site.Train);
        client?.CollectUpload(round, site.Train);
    }

    private static byte[] State(ILocalLearner learner)
    {
        using var buffer = new MemoryStream();
        learner.SaveState(buffer);
        return buffer.ToArray();
    }

    [Theory]
    [MemberData(nameof(Methods))]
    public void Should_go_on_from_parked_networks_exactly_as_from_new_ones(string name)
    {
        var experiment = new FederatedExperiment(SettingsFor(name));
        var method = MethodRegistry.BuiltIn().Find(name)!.Create(experiment, SettingsOf(name, experiment));
        var server = method.CreateServer();
        var global = method.InitialGlobal();
        var (own, other) = (experiment.Sites.Sites[0], experiment.Sites.Sites[1]);
        byte[] snapshot;
        using (var first = method.CreateClient(own.HospitalId))
        {
            TrainRound(first, own, server.Broadcast(1, own.HospitalId), 1, global);
            snapshot = State(first);
        }
        // Another hospital trains and is passivated: its networks are parked, holding its values.
        var passivated = method.CreateClient(other.HospitalId);
        TrainRound(passivated, other, server.Broadcast(1, other.HospitalId), 1, global);
        using (NetworkPool.Reusing()) passivated.Dispose();
        var parked = experiment.Networks.Parked;
        Assert.True(parked > 0, $"{name}: no network parked");

        ILocalLearner reused;
        using (NetworkPool.Reusing()) reused = method.CreateClient(own.HospitalId);
        using var _ = reused;
        Assert.True(experiment.Networks.Parked < parked, $"{name}: no parked network reused");
        reused.LoadState(new MemoryStream(snapshot), "snapshot");
        using var fresh = method.CreateClient(own.HospitalId);
        fresh.LoadState(new MemoryStream(snapshot), "snapshot");
        Assert.Equal(State(fresh), State(reused));

        var broadcast = server.Broadcast(2, own.HospitalId);
        TrainRound(fresh, own, broadcast, 2, global);
        TrainRound(reused, own, broadcast, 2, global);

        Assert.Equal(State(fresh), State(reused));
    }

    [Fact]
    public void Should_build_new_networks_outside_a_reusing_scope_and_keep_a_few_parked_at_most()
    {
        var experiment = new FederatedExperiment(TinyExperiment.Settings(hospitals: 1));
        var built = Enumerable.Range(0, NetworkPool.MaxParkedPerKind + 2).Select(_ => TorchRuntime.Seeded(1, experiment.CreateNetwork)).ToList();
        using (NetworkPool.Reusing())
            foreach (var network in built) network.DisposeTree();
        Assert.Equal(NetworkPool.MaxParkedPerKind, experiment.Networks.Parked);

        // Without the scope a learner's initial values come from its seed, so nothing parked may be handed out.
        using var outside = TorchRuntime.Seeded(1, experiment.CreateNetwork);
        Assert.DoesNotContain(outside, built);
        Assert.Equal(NetworkPool.MaxParkedPerKind, experiment.Networks.Parked);
        ProjectedEncoder inside;
        using (NetworkPool.Reusing()) inside = TorchRuntime.Seeded(1, experiment.CreateNetwork);
        Assert.Contains(inside, built);
        Assert.Equal(NetworkPool.MaxParkedPerKind - 1, experiment.Networks.Parked);
    }
}
