using FedActors.Actors;
using FedActors.Actors.Coordination;
using FedActors.Actors.Hospitals;
using FedActors.Actors.Rounds;
using FedActors.Training.Experiments;

namespace FedActors.Tests.Actors;

public class ParticipantSelectionSpecs
{
    private static readonly string[] Hospitals = Enumerable.Range(0, 8).Select(ExperimentSettings.HospitalId).ToArray();

    private static IReadOnlyList<string> Select(IEnumerable<string> hospitals, int round, CoordinatorSettings settings)
    {
        var ids = hospitals.ToList();
        var rules = settings.Rules;
        return new FedAvgStrategy(rules).SelectClients(new ClientSelection(round, 1, rules.OverSelected(rules.Wanted(ids.Count)), ids,
            new Dictionary<string, ClientRecord>(), 0, ClientSelection.RandomFor(settings.Seed, round, 1)));
    }

    [Fact]
    public void Should_select_the_configured_fraction_reproducibly_and_vary_it_by_round()
    {
        var settings = new CoordinatorSettings { SampleFraction = 0.5, Seed = 3 };
        var round1 = Select(Hospitals, 1, settings);
        Assert.Equal(4, round1.Count);
        Assert.Equal(round1, Select(Hospitals.Reverse(), 1, settings));
        Assert.All(round1, id => Assert.Contains(id, Hospitals));
        var rounds = Enumerable.Range(1, 6).Select(r => string.Join(',', Select(Hospitals, r, settings)));
        Assert.True(rounds.Distinct().Count() > 1, "every round selected the same hospitals");
    }

    [Fact]
    public void Should_select_at_least_the_minimum_participants()
    {
        var settings = new CoordinatorSettings { SampleFraction = 0.1, MinParticipants = 3, Seed = 3 };
        Assert.Equal(3, Select(Hospitals, 1, settings).Count);
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
