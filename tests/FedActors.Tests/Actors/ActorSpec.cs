using FedActors.Testing;
using Xunit.Abstractions;

namespace FedActors.Tests.Actors;

/// <summary>
/// The testing kit's <see cref="FedActorsTestKit"/> (FedActors' dispatchers and serializer, <c>serialize-messages = on</c>,
/// an in-memory weights transfer, helpers that talk to hospitals and the coordinator as the other side does) with this
/// suite's TestKit defaults, scaled by <see cref="TestTime.Factor"/>. <paramref name="extraConfig"/> comes first, so it wins.
/// Our own actor specs use the kit as a user's tests would.
/// </summary>
public abstract class ActorSpec(int trainingThreads, ITestOutputHelper output, string extraConfig = "", bool virtualTime = false)
    : FedActorsTestKit(output, virtualTime, $"{extraConfig}\n{TestTime.AkkaTestHocon}", trainingThreads);
