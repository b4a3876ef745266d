using FedActors.Actors;
using FedActors.Actors.Serialization;
using Xunit.Abstractions;

namespace FedActors.Tests.Actors;

/// <summary>
/// TestKit with the FedActors dispatchers and serializer and <c>serialize-messages = on</c>:
/// every message an actor spec sends is serialised and deserialised on the way, as it
/// would be between nodes.
/// </summary>
public abstract class ActorSpec(int trainingThreads, ITestOutputHelper output)
    : Akka.TestKit.Xunit2.TestKit(Config(trainingThreads), output)
{
    public static string Config(int trainingThreads) => $"""
        akka.actor.serialize-messages = on
        {Dispatchers.Hocon(trainingThreads)}
        {FedActorsSerializer.Hocon}
        """;
}
