using Akka.Actor;
using Akka.Hosting;
using FedActors.Actors.Hosting;
using FedActors.Actors.Protocol;
using FedActors.Actors.Serialization;
using FedActors.Actors.Transfer;
using FedActors.Training.Weights;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace FedActors.Tests.Transfer;

public class TransportHostingSpecs
{
    [Fact]
    public async Task Should_bind_the_serializer_and_start_the_weights_transfer_through_akka_hosting()
    {
        using var host = new HostBuilder()
            .ConfigureServices(services => services.AddAkka("hosting-spec", akka => akka
                .WithFedActorsDispatchers(1)
                .WithFedActorsSerialization()
                .WithWeightsTransfer()))
            .Build();
        await host.StartAsync();
        try
        {
            var system = host.Services.GetRequiredService<ActorSystem>();
            Assert.IsType<FedActorsSerializer>(system.Serialization.FindSerializerForType(typeof(TrainRoundByRef)));
            var transfer = await host.Services.GetRequiredService<ActorRegistry>().GetAsync<WeightsTransfer>();
            var weights = new ModelWeights([new WeightTensor("w", [2], [1, 2])]);
            var reference = await transfer.OfferAsync(weights, TimeSpan.FromSeconds(30));
            Assert.Same(weights, await transfer.FetchAsync(reference, TimeSpan.FromSeconds(30)));
        }
        finally
        {
            await host.StopAsync();
        }
    }
}
