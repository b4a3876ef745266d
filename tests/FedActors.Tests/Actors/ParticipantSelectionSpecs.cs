using FedActors.Actors;
using FedActors.Actors.Coordination;
using FedActors.Actors.Hospitals;
using FedActors.Training.Experiments;

namespace FedActors.Tests.Actors;

public class ParticipantSelectionSpecs
{
    private static readonly string[] Hospitals = Enumerable.Range(0, 8).Select(ExperimentSettings.HospitalId).ToArray();

    [Fact]
    public void Should_select_the_configured_fraction_reproducibly_and_vary_it_by_round()
    {
        var settings = new CoordinatorSettings { SampleFraction = 0.5, Seed = 3 };
        var round1 = RoundCoordinator.SelectParticipants(Hospitals, 1, settings);
        Assert.Equal(4, round1.Count);
        Assert.Equal(round1, RoundCoordinator.SelectParticipants(Hospitals.Reverse(), 1, settings));
        Assert.All(round1, id => Assert.Contains(id, Hospitals));
        var rounds = Enumerable.Range(1, 6).Select(r => string.Join(',', RoundCoordinator.SelectParticipants(Hospitals, r, settings)));
        Assert.True(rounds.Distinct().Count() > 1, "every round selected the same hospitals");
    }

    [Fact]
    public void Should_select_at_least_the_minimum_participants()
    {
        var settings = new CoordinatorSettings { SampleFraction = 0.1, MinParticipants = 3, Seed = 3 };
        Assert.Equal(3, RoundCoordinator.SelectParticipants(Hospitals, 1, settings).Count);
    }

    [Fact]
    public void Should_run_hospitals_and_the_coordinator_off_the_default_dispatcher()
    {
        var definition = new HospitalDefinition("h", () => throw new InvalidOperationException(), () => throw new InvalidOperationException());
        Assert.Equal(Dispatchers.Training, HospitalActor.Props(definition, Akka.Actor.ActorRefs.Nobody).Dispatcher);
        Assert.Equal(Dispatchers.Coordinator,
            RoundCoordinator.Props(new CoordinatorSettings(), new Dictionary<string, Akka.Actor.IActorRef>(), new([]), Akka.Actor.ActorRefs.Nobody).Dispatcher);
    }
}
