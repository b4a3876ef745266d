using Akka.Actor;
using FedActors.Actors.Devices;
using FedActors.Actors.Hospitals;
using FedActors.Actors.Protocol;
using FedActors.Training.Experiments;
using Xunit.Abstractions;

namespace FedActors.Tests.Actors.Devices;

/// <summary>
/// Two training threads: without leases, two hospitals could train at the same time. Each training pass waits at a
/// <see cref="TrainingGate"/> until the spec lets it through, so who trains while whom waits is seen, not timed.
/// </summary>
public class HospitalLeaseSpecs(ITestOutputHelper output) : ActorSpec(2, output)
{
    private static readonly TimeSpan TrainingWait = TimeSpan.FromSeconds(60);
    private readonly FederatedExperiment _experiment = new(TinyExperiment.Settings(hospitals: 2));
    private readonly TrainingGate _gate = new();

    private IActorRef Hospital(int site, IActorRef deviceSlots)
    {
        var s = _experiment.Sites.Sites[site];
        return Sys.ActorOf(HospitalActor.Props(new HospitalDefinition(s.HospitalId, () => s.Train,
            () => new GatedLearner(s.HospitalId, _experiment.CreateLearner(s.HospitalId), _gate)), Transfer,
            deviceSlots: deviceSlots), s.HospitalId);
    }

    // Asked from a probe of its own: the hospitals answer the test actor meanwhile.
    private DeviceUtilisation Utilisation(IActorRef slots)
    {
        var asker = CreateTestProbe();
        asker.Send(slots, GetDeviceUtilisation.Instance);
        return asker.ExpectMsg<DeviceUtilisation>();
    }

    protected override void AfterAll()
    {
        _gate.Dispose();
        base.AfterAll();
    }

    [Fact]
    public void Should_give_up_the_round_when_no_device_can_hold_the_hospital()
    {
        var slots = Sys.ActorOf(DeviceSlots.Props(new DeviceSlotsSettings { MemoryBudgetBytes = 1000 }));
        var s = _experiment.Sites.Sites[0];
        var hospital = Sys.ActorOf(HospitalActor.Props(new HospitalDefinition(s.HospitalId, () => s.Train,
            () => _experiment.CreateLearner(s.HospitalId)) { MemoryBytes = 5000 }, Transfer, deviceSlots: slots));

        hospital.Tell(Request(1, _experiment.InitialGlobal()));

        // Told at once, so the round drops it now instead of at its timeout; it never trained.
        var failed = ExpectMsg<HospitalTrainingFailed>(TrainingWait);
        Assert.Equal((1, s.HospitalId), (failed.Round, failed.HospitalId));
        Assert.Contains($"no device can hold it: {s.HospitalId} needs", failed.Reason);
        Assert.Equal(0, Utilisation(slots).Grants);
    }

    [Fact]
    public void Should_never_let_two_hospitals_train_together_on_one_slot()
    {
        var slots = Sys.ActorOf(DeviceSlots.Props(new DeviceSlotsSettings { SlotsPerDevice = 1 }));
        var hospitals = new[] { Hospital(0, slots), Hospital(1, slots) };
        var global = _experiment.InitialGlobal();

        foreach (var round in new[] { 1, 2 })
        foreach (var hospital in hospitals)
            hospital.Tell(Request(round, global));

        var passes = new List<TrainingPass>();
        for (var i = 0; i < 4; i++)
        {
            passes.Add(_gate.Next(TrainingWait, $"training pass {i + 1} of 4"));
            if (i < 3)
            {
                // While this pass holds the only slot, the other hospital's request waits in the queue, untrained.
                AwaitAssert(() =>
                {
                    var report = Utilisation(slots);
                    Assert.Equal(1, Assert.Single(report.Devices).Leased);
                    Assert.Equal(1, report.QueueLength);
                });
                Assert.Equal(i + 1, _gate.Begun);
            }
            _gate.LetOneThrough();
        }
        // Only their rounds are looked at: a hospital releases its round-1 upload once its round-2 upload is offered.
        var updates = ReceiveN(4, Dilated(TrainingWait)).Cast<LocalUpdateByRef>().ToList();

        Assert.Equal(2, updates.Count(u => u.Round == 2));
        Assert.Equal(1, _gate.MostAtOnce);
        // Granted in arrival order: the hospital that waited trains next, so the two take turns.
        for (var i = 1; i < passes.Count; i++) Assert.NotEqual(passes[i - 1].HospitalId, passes[i].HospitalId);
        Assert.All(passes, p => Assert.Equal("cpu", p.Device));
        AwaitAssert(() =>
        {
            var report = Utilisation(slots);
            Assert.Equal(4, report.Grants);
            Assert.Equal(1, report.MaxQueueLength); // the other hospital always waited
            Assert.Equal(0, Assert.Single(report.Devices).Leased); // every lease given back
        });
    }

    [Fact]
    public void Should_grant_two_hospitals_two_slots_without_waiting()
    {
        var slots = Sys.ActorOf(DeviceSlots.Props(new DeviceSlotsSettings { SlotsPerDevice = 2 }));
        var global = _experiment.InitialGlobal();
        foreach (var hospital in new[] { Hospital(0, slots), Hospital(1, slots) }) hospital.Tell(Request(1, global));

        // Neither pass is let through until both have begun: with two slots the second needs no lease the first holds.
        var first = _gate.Next(TrainingWait, "the first hospital's training");
        var second = _gate.Next(TrainingWait, "the second hospital's training while the first still trains");
        Assert.NotEqual(first.HospitalId, second.HospitalId);
        Assert.Equal(2, _gate.MostAtOnce);
        _gate.LetOneThrough();
        _gate.LetOneThrough();

        ReceiveN(2, Dilated(TrainingWait));
        var report = Utilisation(slots);
        Assert.Equal(2, report.Grants);
        Assert.Equal(0, report.MaxQueueLength);
    }

    [Fact]
    public void Should_wait_for_a_lease_before_training_and_answer_stashed_messages_after()
    {
        _gate.Open();
        var slots = Sys.ActorOf(DeviceSlots.Props(new DeviceSlotsSettings { SlotsPerDevice = 1 }));
        var other = CreateTestProbe();
        other.Send(slots, new RequestLease("someone-else"));
        var held = other.ExpectMsg<LeaseGranted>();

        var hospital = Hospital(0, slots);
        hospital.Tell(Request(1, _experiment.InitialGlobal()));
        hospital.Tell(GetLocalState.Instance);
        // The hospital's lease request is queued behind the held lease: it has not trained, nor answered anything.
        AwaitAssert(() => Assert.Equal(1, Utilisation(slots).QueueLength));
        Assert.Equal(0, _gate.Begun);
        ExpectNoMsg(TimeSpan.Zero);

        other.Send(slots, new ReleaseLease(held.LeaseId));
        // Both answered once trained: the update once its weights are offered on the node's transfer, so in either order.
        var answers = ReceiveN(2, Dilated(TrainingWait));
        var update = Resolve(Assert.Single(answers.OfType<LocalUpdateByRef>()));
        var state = Assert.Single(answers.OfType<LocalStateReport>()); // stashed while waiting, answered after training
        Assert.Equal(1, state.LastRound);
        Assert.Equal(update.Steps, state.State!.OptimizerSteps);
        Assert.Equal(1, _gate.Begun);
        Assert.Equal("cpu", _gate.Next(TimeSpan.Zero, "the hospital's training").Device);
    }
}
