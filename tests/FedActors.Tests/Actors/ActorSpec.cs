using FedActors.Actors;
using FedActors.Actors.Serialization;
using Xunit.Abstractions;

namespace FedActors.Tests.Actors;

/// <summary>
/// TestKit with the FedActors dispatchers and serializer and <c>serialize-messages = on</c>:
/// every message an actor spec sends is serialised and deserialised on the way, as it
/// would be between nodes. TestKit defaults scale by <see cref="TestTime.Factor"/>.
/// <paramref name="extraConfig"/> comes first, so it wins.
/// </summary>
public abstract class ActorSpec(int trainingThreads, ITestOutputHelper output, string extraConfig = "")
    : Akka.TestKit.Xunit2.TestKit(Config(trainingThreads, extraConfig), output)
{
    public static string Config(int trainingThreads, string extraConfig = "") => $"""
        {extraConfig}
        akka.actor.serialize-messages = on
        {TestTime.AkkaTestHocon}
        {Dispatchers.Hocon(trainingThreads)}
        {FedActorsSerializer.Hocon}
        """;
}
