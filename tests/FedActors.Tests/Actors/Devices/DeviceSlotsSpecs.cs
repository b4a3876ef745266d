using Akka.Actor;
using Akka.TestKit;
using FedActors.Actors.Devices;
using FedActors.Actors.Protocol;
using Xunit.Abstractions;

namespace FedActors.Tests.Actors.Devices;

public class DeviceSlotsSpecs(ITestOutputHelper output) : ActorSpec(1, output)
{
    private static readonly TimeSpan Quiet = TimeSpan.FromMilliseconds(300);

    private IActorRef Slots(int slotsPerDevice = 1, TimeSpan? maxHold = null, TimeProvider? time = null) =>
        Sys.ActorOf(DeviceSlots.Props(new DeviceSlotsSettings { SlotsPerDevice = slotsPerDevice, MaxLeaseHold = maxHold ?? TimeSpan.FromMinutes(30) }, time));

    private static LeaseGranted Request(TestProbe probe, IActorRef slots, string id)
    {
        probe.Send(slots, new RequestLease(id));
        return probe.ExpectMsg<LeaseGranted>();
    }

    private DeviceUtilisation Utilisation(IActorRef slots)
    {
        slots.Tell(GetDeviceUtilisation.Instance);
        return ExpectMsg<DeviceUtilisation>();
    }

    [Fact]
    public void Should_grant_a_single_slot_to_waiting_requesters_in_arrival_order()
    {
        var slots = Slots();
        var probes = Enumerable.Range(0, 4).Select(_ => CreateTestProbe()).ToList();
        var lease = Request(probes[0], slots, "first");
        Assert.Equal("cpu", lease.Device);
        for (var i = 1; i < probes.Count; i++) probes[i].Send(slots, new RequestLease($"waiting-{i}"));

        for (var i = 1; i < probes.Count; i++)
        {
            foreach (var waiting in probes.Skip(i)) waiting.ExpectNoMsg(TimeSpan.FromMilliseconds(100));
            probes[i - 1].Send(slots, new ReleaseLease(lease.LeaseId));
            lease = probes[i].ExpectMsg<LeaseGranted>();
        }
        var report = Utilisation(slots);
        Assert.Equal(4, report.Grants);
        Assert.Equal(3, report.MaxQueueLength);
        Assert.Equal(0, report.QueueLength);
    }

    [Fact]
    public void Should_grant_as_many_leases_at_once_as_there_are_slots()
    {
        var slots = Slots(slotsPerDevice: 2);
        var (a, b, c) = (CreateTestProbe(), CreateTestProbe(), CreateTestProbe());
        Request(a, slots, "a");
        Request(b, slots, "b");
        c.Send(slots, new RequestLease("c"));
        c.ExpectNoMsg(Quiet);

        var report = Utilisation(slots);
        Assert.Equal(2, Assert.Single(report.Devices).Leased);
        Assert.Equal(1, report.QueueLength);
    }

    [Fact]
    public void Should_spread_leases_over_devices_and_reuse_the_freed_one()
    {
        // Built directly: the device list is not checked against this machine's GPUs.
        var slots = Sys.ActorOf(Props.Create(() => new DeviceSlots(new DeviceSlotsSettings(), new[] { "cuda:0", "cuda:1" })));
        var (a, b, c) = (CreateTestProbe(), CreateTestProbe(), CreateTestProbe());
        var first = Request(a, slots, "a");
        Assert.Equal("cuda:0", first.Device);
        Assert.Equal("cuda:1", Request(b, slots, "b").Device);
        c.Send(slots, new RequestLease("c"));
        c.ExpectNoMsg(Quiet);

        a.Send(slots, new ReleaseLease(first.LeaseId));
        Assert.Equal("cuda:0", c.ExpectMsg<LeaseGranted>().Device);
    }

    [Fact]
    public void Should_free_the_lease_of_a_holder_that_dies_and_drop_a_dead_waiter()
    {
        var slots = Slots();
        var (holder, deadWaiter, waiter) = (CreateTestProbe(), CreateTestProbe(), CreateTestProbe());
        Request(holder, slots, "holder");
        deadWaiter.Send(slots, new RequestLease("dead-waiter"));
        waiter.Send(slots, new RequestLease("waiter"));

        Sys.Stop(deadWaiter.Ref);
        // Only once the slots have seen the waiter die: two deaths reach them in either order, and the holder's
        // first would hand the freed slot to the dead waiter, queued before the live one.
        AwaitAssert(() => Assert.Equal(1, Utilisation(slots).QueueLength));
        Sys.Stop(holder.Ref);

        waiter.ExpectMsg<LeaseGranted>();
        AwaitAssert(() =>
        {
            var report = Utilisation(slots);
            Assert.Equal(1, Assert.Single(report.Devices).Leased);
            Assert.Equal(0, report.QueueLength);
            Assert.Equal(2, report.Grants); // the dead waiter was never granted
        });
    }

    [Fact]
    public void Should_ignore_a_release_from_anyone_but_the_holder_and_a_second_release()
    {
        var slots = Slots();
        var (holder, other) = (CreateTestProbe(), CreateTestProbe());
        var lease = Request(holder, slots, "holder");
        other.Send(slots, new RequestLease("other"));

        other.Send(slots, new ReleaseLease(lease.LeaseId));
        other.ExpectNoMsg(Quiet);

        holder.Send(slots, new ReleaseLease(lease.LeaseId));
        var second = other.ExpectMsg<LeaseGranted>();
        holder.Send(slots, new ReleaseLease(lease.LeaseId));
        Assert.Equal(1, Assert.Single(Utilisation(slots).Devices).Leased);
        Assert.NotEqual(lease.LeaseId, second.LeaseId);
    }

    [Fact]
    public void Should_warn_about_a_lease_held_too_long_without_revoking_it()
    {
        var slots = Slots(maxHold: TimeSpan.FromMilliseconds(200));
        var (holder, other) = (CreateTestProbe(), CreateTestProbe());

        EventFilter.Warning(contains: "longer than").ExpectOne(Dilated(TimeSpan.FromSeconds(5)), () => Request(holder, slots, "slow-hospital"));

        other.Send(slots, new RequestLease("other"));
        other.ExpectNoMsg(Quiet);
    }

    [Fact]
    public void Should_grant_the_longest_predicted_training_first_once_it_has_seen_each_hospital()
    {
        var clock = new ManualClock();
        var slots = Sys.ActorOf(DeviceSlots.Props(new DeviceSlotsSettings { Placement = PlacementOrder.LongestFirst }, clock));
        var hospitals = new[] { ("small", 1), ("big", 5), ("mid", 3) }.Select(h => (Id: h.Item1, Seconds: h.Item2, Probe: CreateTestProbe())).ToList();
        // A first round, one at a time: each lease's length is what the slots learn.
        foreach (var (id, seconds, probe) in hospitals)
        {
            var lease = Request(probe, slots, id);
            clock.Advance(TimeSpan.FromSeconds(seconds));
            probe.Send(slots, new ReleaseLease(lease.LeaseId));
        }

        // The next round: all three wait behind a holder, smallest first.
        var blocker = CreateTestProbe();
        var blocked = Request(blocker, slots, "blocker");
        foreach (var (id, _, probe) in hospitals) probe.Send(slots, new RequestLease(id));
        Assert.Equal(3, Utilisation(slots).QueueLength);
        blocker.Send(slots, new ReleaseLease(blocked.LeaseId));

        // Granted longest first: big, mid, small.
        foreach (var id in new[] { "big", "mid", "small" })
        {
            var (_, _, probe) = hospitals.Single(h => h.Id == id);
            var lease = probe.ExpectMsg<LeaseGranted>();
            foreach (var other in hospitals.Where(h => h.Id != id)) other.Probe.ExpectNoMsg(TimeSpan.FromMilliseconds(50));
            probe.Send(slots, new ReleaseLease(lease.LeaseId));
        }
    }

    [Fact]
    public void Should_grant_only_where_memory_fits_hold_back_the_rest_and_refuse_what_fits_nowhere()
    {
        var slots = Sys.ActorOf(DeviceSlots.Props(new DeviceSlotsSettings { SlotsPerDevice = 3, MemoryBudgetBytes = 1000 }));
        var (a, b, c, huge) = (CreateTestProbe(), CreateTestProbe(), CreateTestProbe(), CreateTestProbe());

        a.Send(slots, new RequestLease("a", 600));
        var leaseA = a.ExpectMsg<LeaseGranted>();
        b.Send(slots, new RequestLease("b", 600)); // a slot is free, the memory is not: b waits
        c.Send(slots, new RequestLease("c", 300)); // fits beside a: granted past b
        c.ExpectMsg<LeaseGranted>();
        Assert.Equal(1, Utilisation(slots).QueueLength);
        b.ExpectNoMsg(TimeSpan.FromMilliseconds(100));

        a.Send(slots, new ReleaseLease(leaseA.LeaseId));
        b.ExpectMsg<LeaseGranted>(); // 300 + 600 ≤ 1000 once a's 600 is back

        huge.Send(slots, new RequestLease("huge", 1001));
        var refused = huge.ExpectMsg<LeaseRefused>();
        Assert.Contains("huge needs", refused.Reason);
        Assert.Contains("devices.memory-budget-mb", refused.Reason);
        Assert.Equal(0, Utilisation(slots).QueueLength); // not queued to wait forever
    }

    [Fact]
    public void Should_report_utilisation_between_zero_and_one_that_grows_with_leased_time()
    {
        // The slots read time from a clock moved here: the busy seconds are exact, not whatever a sleep came to.
        var clock = new ManualClock();
        var slots = Slots(slotsPerDevice: 2, time: clock);
        var idle = Assert.Single(Utilisation(slots).Devices);
        Assert.Equal(0, idle.Utilisation);
        Assert.Equal(0, idle.Grants);

        clock.Advance(TimeSpan.FromSeconds(1));
        var holder = CreateTestProbe();
        var lease = Request(holder, slots, "holder");
        clock.Advance(TimeSpan.FromSeconds(3));
        var holding = Assert.Single(Utilisation(slots).Devices);
        Assert.Equal(3, holding.BusySeconds); // a lease still held counts up to now
        holder.Send(slots, new ReleaseLease(lease.LeaseId));
        // Asked after the release was enqueued, answered after it was handled: the clock moves on only then.
        Assert.Equal(0, Assert.Single(Utilisation(slots).Devices).Leased);
        clock.Advance(TimeSpan.FromSeconds(4));

        var used = Assert.Single(Utilisation(slots).Devices);
        Assert.Equal("cpu", used.Device);
        Assert.Equal(2, used.Slots);
        Assert.Equal(1, used.Grants);
        Assert.Equal(3, used.BusySeconds); // released: idle time after it adds nothing
        Assert.Equal(8, used.WallSeconds);
        Assert.Equal(3.0 / (8 * 2), used.Utilisation, precision: 12); // one slot of two, busy 3 s of 8
    }
}
