using System.Collections.Concurrent;
using Akka.Actor;
using FedActors.Actors.Devices;
using FedActors.Actors.Hospitals;
using FedActors.Actors.Protocol;
using FedActors.Training.Experiments;
using Xunit.Abstractions;

namespace FedActors.Tests.Actors.Devices;

/// <summary>Two training threads: without leases, two hospitals could train at the same time.</summary>
public class HospitalLeaseSpecs(ITestOutputHelper output) : ActorSpec(2, output)
{
    private static readonly TimeSpan TrainingWait = TimeSpan.FromSeconds(60);
    private readonly FederatedMoCoExperiment _experiment = new(TinyExperiment.Settings(hospitals: 2));
    private readonly ConcurrentQueue<TrainingInterval> _trained = new();

    private IActorRef Hospital(int site, IActorRef deviceSlots)
    {
        var s = _experiment.Sites.Sites[site];
        return Sys.ActorOf(HospitalActor.Props(new HospitalDefinition(s.HospitalId, () => s.Train,
            () => new RecordingLearner(s.HospitalId, _experiment.CreateLearner(s.HospitalId), _trained, TimeSpan.FromMilliseconds(250))),
            deviceSlots: deviceSlots), s.HospitalId);
    }

    private DeviceUtilisation Utilisation(IActorRef slots)
    {
        slots.Tell(GetDeviceUtilisation.Instance);
        return ExpectMsg<DeviceUtilisation>();
    }

    [Fact]
    public void Should_never_let_two_hospitals_train_together_on_one_slot()
    {
        var slots = Sys.ActorOf(DeviceSlots.Props(new DeviceSlotsSettings { SlotsPerDevice = 1 }));
        var hospitals = new[] { Hospital(0, slots), Hospital(1, slots) };
        var global = _experiment.InitialGlobal();

        foreach (var round in new[] { 1, 2 })
        foreach (var hospital in hospitals)
            hospital.Tell(new TrainRound(round, global));
        var updates = ReceiveN(4, TrainingWait).Cast<LocalUpdate>().ToList();

        Assert.Equal(2, updates.Count(u => u.Round == 2));
        var intervals = _trained.OrderBy(t => t.Start).ToList();
        Assert.Equal(4, intervals.Count);
        for (var i = 1; i < intervals.Count; i++)
            Assert.True(intervals[i - 1].End <= intervals[i].Start,
                $"{intervals[i - 1].HospitalId} and {intervals[i].HospitalId} trained at the same time on one slot");
        Assert.All(intervals, t => Assert.Equal("cpu", t.Device));
        AwaitAssert(() =>
        {
            var report = Utilisation(slots);
            Assert.Equal(4, report.Grants);
            Assert.Equal(1, report.MaxQueueLength); // the other hospital always waited
            Assert.Equal(0, Assert.Single(report.Devices).Leased); // every lease given back
            Assert.InRange(report.Devices[0].Utilisation, double.Epsilon, 1);
        });
    }

    [Fact]
    public void Should_grant_two_hospitals_two_slots_without_waiting()
    {
        var slots = Sys.ActorOf(DeviceSlots.Props(new DeviceSlotsSettings { SlotsPerDevice = 2 }));
        var global = _experiment.InitialGlobal();
        foreach (var hospital in new[] { Hospital(0, slots), Hospital(1, slots) }) hospital.Tell(new TrainRound(1, global));

        ReceiveN(2, TrainingWait);
        var report = Utilisation(slots);
        Assert.Equal(2, report.Grants);
        Assert.Equal(0, report.MaxQueueLength); // overlap itself is up to the scheduler; not waiting is not
    }

    [Fact]
    public void Should_wait_for_a_lease_before_training_and_answer_stashed_messages_after()
    {
        var slots = Sys.ActorOf(DeviceSlots.Props(new DeviceSlotsSettings { SlotsPerDevice = 1 }));
        var other = CreateTestProbe();
        other.Send(slots, new RequestLease("someone-else"));
        var held = other.ExpectMsg<LeaseGranted>();

        var hospital = Hospital(0, slots);
        hospital.Tell(new TrainRound(1, _experiment.InitialGlobal()));
        hospital.Tell(GetLocalState.Instance);
        ExpectNoMsg(TimeSpan.FromMilliseconds(500));
        Assert.Empty(_trained);

        other.Send(slots, new ReleaseLease(held.LeaseId));
        var update = ExpectMsg<LocalUpdate>(TrainingWait);
        var state = ExpectMsg<LocalStateReport>(); // stashed while waiting, answered after training
        Assert.Equal(1, state.LastRound);
        Assert.Equal(update.Steps, state.State!.OptimizerSteps);
        Assert.Equal("cpu", Assert.Single(_trained).Device);
    }
}
