using FedActors.Training.Data;
using FedActors.Training.Experiments;
using FedActors.Training.Methods;
using FedActors.Training.Methods.Fcl;
using FedActors.Training.Objectives;
using FedActors.Training.Weights;

namespace FedActors.Tests.Training.Methods;

public sealed class FclOptSpecs
{
    private static readonly FederatedExperiment Experiment = new(TinyExperiment.Volumetric(hospitals: 2));
    private static ImageShard Shard => Experiment.Sites.Sites[0].Train;
    private static string Hospital => Experiment.Sites.Sites[0].HospitalId;

    // PTNU's prediction, DP's decision, the server's stand-in and the bytes that move: FclOptProtocolSpecs.

    private static FclOptClient Client(FclOptOptions options) => (FclOptClient)new FclOptMethod(Experiment, options).CreateClient(Hospital);

    private static ModelWeights Scaled(ModelWeights w, float factor) =>
        new(w.Tensors.Select(t => t with { Values = t.Values.Select(v => v * factor).ToArray() }).ToList());

    [Fact]
    public void Should_take_the_downloaded_target_without_ptnu_and_say_so_when_none_came()
    {
        using var client = Client(new FclOptOptions());
        var global = new FclOptMethod(Experiment, new FclOptOptions()).InitialGlobal();
        var target = Scaled(global.Submodule(ByolModel.Encoder), 0.5f);
        client.ReceiveBroadcast(1, MethodPayloads.Of((FclOptClient.TargetPayload, new TargetWeightsPayload(target))));
        client.LoadGlobal(global);
        Assert.Equal(target.ContentHash, client.Learner.TargetWeights().ContentHash);

        client.ReceiveBroadcast(2, MethodPayloads.Empty);
        Assert.Contains("needs the global target", Assert.Throws<InvalidDataException>(() => client.LoadGlobal(global)).Message);
    }

    [Fact]
    public void Should_continue_bit_identically_with_its_targets_after_a_save_and_load()
    {
        var options = new FclOptOptions { Ptnu = true, Dp = true };
        var global = new FclOptMethod(Experiment, options).InitialGlobal();
        using var a = Client(options);
        a.ReceiveBroadcast(1, MethodPayloads.Empty);
        a.LoadGlobal(global);
        a.Train(Shard);
        a.CollectUpload(1, Shard);
        using var state = new MemoryStream();
        a.SaveState(state);
        using var b = Client(options);
        b.LoadState(new MemoryStream(state.ToArray()), "snapshot");

        foreach (var c in new[] { a, b })
        {
            c.ReceiveBroadcast(2, MethodPayloads.Empty);
            c.LoadGlobal(global);
            c.Train(Shard);
        }
        Assert.Equal(a.Learner.TargetWeights().ContentHash, b.Learner.TargetWeights().ContentHash);
        Assert.Equal(a.CollectUpload(2, Shard).IsEmpty, b.CollectUpload(2, Shard).IsEmpty);
        Assert.Equal(a.LastDistance, b.LastDistance);
    }
}
