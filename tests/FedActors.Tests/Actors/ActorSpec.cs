using Akka.Actor;
using FedActors.Actors;
using FedActors.Actors.Coordination;
using FedActors.Actors.Protocol;
using FedActors.Actors.Serialization;
using FedActors.Actors.Transfer;
using FedActors.Training.Methods;
using FedActors.Training.Weights;
using Xunit.Abstractions;

namespace FedActors.Tests.Actors;

/// <summary>
/// TestKit with the FedActors dispatchers and serializer and <c>serialize-messages = on</c>:
/// every message an actor spec sends is serialised and deserialised on the way, as it
/// would be between nodes. TestKit defaults scale by <see cref="TestTime.Factor"/>.
/// <paramref name="extraConfig"/> comes first, so it wins.
/// It holds the spec's in-process <see cref="WeightsTransfer"/> (<see cref="Transfer"/>), through which weights travel by
/// reference as in every run, and talks to hospitals as the coordinator does (<see cref="Request"/>, <see cref="ExpectUpdate"/>).
/// </summary>
public abstract class ActorSpec(int trainingThreads, ITestOutputHelper output, string extraConfig = "")
    : Akka.TestKit.Xunit2.TestKit(Config(trainingThreads, extraConfig), output)
{
    private static readonly TimeSpan TransferWait = TimeSpan.FromSeconds(30);
    private IActorRef? _transfer;

    public static string Config(int trainingThreads, string extraConfig = "") => $"""
        {extraConfig}
        akka.actor.serialize-messages = on
        {TestTime.AkkaTestHocon}
        {Dispatchers.Hocon(trainingThreads)}
        {FedActorsSerializer.Hocon}
        """;

    /// <summary>This spec's weights transfer (memory only, as in <c>fedactors run</c>), started on first use.</summary>
    protected IActorRef Transfer => _transfer ??= Sys.ActorOf(WeightsTransfer.Props(), "weights-transfer");

    /// <summary>A round's request, as the coordinator sends it: <paramref name="global"/> offered on <see cref="Transfer"/>.</summary>
    protected TrainRoundByRef Request(int round, ModelWeights global, MethodPayloads? broadcast = null) => new(round, Offer(global), broadcast);

    /// <summary>Offers <paramref name="weights"/> on <see cref="Transfer"/>, as a hospital or the coordinator does.</summary>
    protected WeightsRef Offer(ModelWeights weights)
    {
        var probe = CreateTestProbe();
        Transfer.Tell(new OfferWeights(weights), probe.Ref);
        return probe.ExpectMsg<WeightsRef>(Dilated(TransferWait));
    }

    /// <summary>An upload with its weights fetched from <see cref="Transfer"/>, as the coordinator resolves it.</summary>
    protected LocalUpdate Resolve(LocalUpdateByRef upload)
    {
        var probe = CreateTestProbe();
        Transfer.Tell(new FetchWeights(upload.Weights), probe.Ref);
        var weights = probe.ExpectMsg<WeightsFetched>(Dilated(TransferWait)).Weights;
        return new LocalUpdate(upload.Round, upload.HospitalId, weights, upload.Samples, upload.MeanLoss, upload.Steps, upload.ComputeSeconds,
            upload.Extras);
    }

    /// <summary>Expects a hospital's answer within <paramref name="timeout"/> and resolves its weights.</summary>
    protected LocalUpdate ExpectUpdate(TimeSpan timeout) => Resolve(ExpectMsg<LocalUpdateByRef>(timeout));
}
