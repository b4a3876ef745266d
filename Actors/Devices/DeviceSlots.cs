using Akka.Actor;
using Akka.Event;
using FedActors.Actors.Protocol;

namespace FedActors.Actors.Devices;

/// <summary>
/// A node's device-slot manager: hospitals train only while holding one of its leases.
/// Requests are granted in the order <see cref="DeviceSlotsSettings.Placement"/> says (arrival order unless told
/// otherwise; <see cref="Placement"/> decides, learning from the leases that come back), each on
/// the device with the fewest leased slots. A holder that dies loses its leases; a lease
/// held past <see cref="DeviceSlotsSettings.MaxLeaseHold"/> is reported, not taken back.
/// It only does bookkeeping (no tensors, no blocking), and it runs on the training dispatcher: a hospital's release
/// and the next one's grant are then handled by the training thread that just finished, with no other thread to wake.
/// On the default dispatcher each hand-over waited for a thread to be scheduled beside libtorch's busy threads: about
/// 3 ms per hospital, a twentieth of a small model's local round.
/// </summary>
public sealed class DeviceSlots : ReceiveActor, IWithTimers
{
    private sealed record Lease(long Id, int Device, IActorRef Holder, string HolderId, TimeSpan GrantedAt);

    private sealed record Waiting(IActorRef Requester, string RequesterId);

    private sealed record LeaseOverdue(long LeaseId) : INoSerializationVerificationNeeded;

    // Longest-first grants after the requests already in the mailbox: a round's burst is ordered as a whole.
    private sealed record GrantWaiting : INoSerializationVerificationNeeded;

    private readonly DeviceSlotsSettings _settings;
    private readonly IReadOnlyList<string> _devices;
    private readonly ILoggingAdapter _log = Context.GetLogger();
    private readonly TimeProvider _time;
    private readonly long _started;
    private readonly int[] _leased;
    private readonly long[] _grants;
    private readonly double[] _releasedBusySeconds;
    private readonly Dictionary<long, Lease> _leases = new();
    private readonly List<Waiting> _queue = new();
    private readonly Placement _placement;
    private bool _grantPending;
    private long _lastLeaseId;
    private int _maxQueueLength;

    /// <summary>Creates the slot manager; <see cref="Props"/> resolves the devices first, as a node should.</summary>
    /// <param name="settings">Slots per device and how long a lease may be held before it is reported.</param>
    /// <param name="devices">The resolved device names (<see cref="DeviceSlotsSettings.ResolveDevices()"/>), in the order utilisation reports them.</param>
    /// <param name="time">
    /// The clock busy and wall time are read from: the system clock unless given. Specs give a clock they move by hand,
    /// so the busy seconds they check are exact instead of whatever the machine's load made of a sleep.
    /// </param>
    public DeviceSlots(DeviceSlotsSettings settings, IReadOnlyList<string> devices, TimeProvider? time = null)
    {
        _settings = settings;
        _devices = devices;
        _time = time ?? TimeProvider.System;
        _started = _time.GetTimestamp();
        _leased = new int[devices.Count];
        _grants = new long[devices.Count];
        _releasedBusySeconds = new double[devices.Count];
        _placement = new Placement(settings.Placement);

        Receive<RequestLease>(Request);
        Receive<ReleaseLease>(Release);
        Receive<Terminated>(HolderDied);
        Receive<LeaseOverdue>(Overdue);
        Receive<GetDeviceUtilisation>(_ => Sender.Tell(Report()));
        Receive<GrantWaiting>(_ => { _grantPending = false; GrantWhileFree(); });
    }

    /// <inheritdoc/>
    public ITimerScheduler Timers { get; set; } = null!;

    /// <summary>Resolves the devices here, so a bad device list fails when the node starts, not at the first lease.</summary>
    /// <param name="settings">The node's devices and slots; null is one slot on the CPU.</param>
    /// <param name="time">The clock of the utilisation figures; the system clock unless given.</param>
    /// <exception cref="ArgumentException">A device is malformed, listed twice or missing on this node, or slots per device is below 1.</exception>
    public static Props Props(DeviceSlotsSettings? settings = null, TimeProvider? time = null)
    {
        settings ??= new DeviceSlotsSettings();
        var devices = settings.ResolveDevices();
        return Akka.Actor.Props.Create(() => new DeviceSlots(settings, devices, time)).WithDispatcher(Dispatchers.Training);
    }

    private TimeSpan Now => _time.GetElapsedTime(_started);

    private void Request(RequestLease request)
    {
        if (Sender.IsNobody())
        {
            _log.Warning("Lease request from {0} without a sender: nobody could release it; ignored", request.RequesterId);
            return;
        }
        Context.Watch(Sender);
        _queue.Add(new Waiting(Sender, request.RequesterId));
        if (_placement.Order == PlacementOrder.Arrival) GrantWhileFree();
        else if (!_grantPending)
        {
            _grantPending = true;
            Self.Tell(new GrantWaiting());
        }
        _maxQueueLength = Math.Max(_maxQueueLength, _queue.Count);
    }

    private void Release(ReleaseLease release)
    {
        if (!_leases.TryGetValue(release.LeaseId, out var lease))
        {
            _log.Debug("Lease {0} released again or never granted; ignored", release.LeaseId);
            return;
        }
        if (!lease.Holder.Equals(Sender))
        {
            _log.Warning("{0} tried to release lease {1}, held by {2}; ignored", Sender, lease.Id, lease.HolderId);
            return;
        }
        Free(lease);
        ForgetIfIdle(lease.Holder);
        GrantWhileFree();
    }

    private void HolderDied(Terminated terminated)
    {
        var dead = terminated.ActorRef;
        _queue.RemoveAll(w => w.Requester.Equals(dead));
        foreach (var lease in _leases.Values.Where(l => l.Holder.Equals(dead)).ToList())
        {
            _log.Warning("Lease {0} on {1} freed: its holder {2} stopped without releasing it", lease.Id, _devices[lease.Device], lease.HolderId);
            Free(lease);
        }
        GrantWhileFree();
    }

    private void Overdue(LeaseOverdue overdue)
    {
        if (!_leases.TryGetValue(overdue.LeaseId, out var lease)) return;
        _log.Warning("Lease {0} on {1} held by {2} for {3:F0} s, longer than the {4:F0} s expected; not revoked",
            lease.Id, _devices[lease.Device], lease.HolderId, (Now - lease.GrantedAt).TotalSeconds,
            _settings.MaxLeaseHold.TotalSeconds);
    }

    private void GrantWhileFree()
    {
        while (_queue.Count > 0)
        {
            var device = LeastLeasedDevice();
            if (_leased[device] >= _settings.SlotsPerDevice) return;
            var pick = _placement.Next(_queue.Select(w => w.RequesterId).ToList());
            var head = _queue[pick];
            _queue.RemoveAt(pick);
            var lease = new Lease(++_lastLeaseId, device, head.Requester, head.RequesterId, Now);
            _leases.Add(lease.Id, lease);
            _leased[device]++;
            _grants[device]++;
            Timers.StartSingleTimer(lease.Id, new LeaseOverdue(lease.Id), _settings.MaxLeaseHold);
            lease.Holder.Tell(new LeaseGranted(lease.Id, _devices[device]));
        }
    }

    // Spreads leases over devices; ties go to the lowest index, so one device fills first only when others are busier.
    private int LeastLeasedDevice()
    {
        var best = 0;
        for (var d = 1; d < _leased.Length; d++)
            if (_leased[d] < _leased[best]) best = d;
        return best;
    }

    private void Free(Lease lease)
    {
        _leases.Remove(lease.Id);
        _leased[lease.Device]--;
        var held = (Now - lease.GrantedAt).TotalSeconds;
        _releasedBusySeconds[lease.Device] += held;
        _placement.Observe(lease.HolderId, held);
        Timers.Cancel(lease.Id);
    }

    // Unwatching an actor with nothing here keeps the watch set as small as the live leases and queue.
    private void ForgetIfIdle(IActorRef actor)
    {
        if (_leases.Values.All(l => !l.Holder.Equals(actor)) && _queue.All(w => !w.Requester.Equals(actor)))
            Context.Unwatch(actor);
    }

    private DeviceUtilisation Report()
    {
        var now = Now;
        var usage = _devices.Select((name, d) =>
        {
            var held = _leases.Values.Where(l => l.Device == d).Sum(l => (now - l.GrantedAt).TotalSeconds);
            return new DeviceUsage(name, _settings.SlotsPerDevice, _leased[d], _grants[d], _releasedBusySeconds[d] + held, now.TotalSeconds);
        }).ToList();
        return new DeviceUtilisation(usage, _queue.Count, _maxQueueLength);
    }
}
