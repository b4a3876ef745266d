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
    private sealed record Lease(long Id, int Device, IActorRef Holder, string HolderId, TimeSpan GrantedAt, long MemoryBytes);

    private sealed record Waiting(IActorRef Requester, string RequesterId, long MemoryBytes);

    private sealed record LeaseOverdue(long LeaseId) : INoSerializationVerificationNeeded;

    // Longest-first grants after the requests already in the mailbox: a round's burst is ordered as a whole.
    private sealed record GrantWaiting : INoSerializationVerificationNeeded;

    private readonly DeviceSlotsSettings _settings;
    private readonly IReadOnlyList<string> _devices;
    private readonly ILoggingAdapter _log = Context.GetLogger();
    private readonly TimeProvider _time;
    private readonly long _started;
    private readonly int[] _leased;
    private readonly long[] _memoryLeased;
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
        _memoryLeased = new long[devices.Count];
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
        if (_settings.MemoryBudgetBytes > 0 && request.MemoryBytes > _settings.MemoryBudgetBytes)
        {
            // Held back it would wait forever: no device's budget can ever hold it.
            var reason = $"{request.RequesterId} needs {Megabytes(request.MemoryBytes)} of device memory, more than the {Megabytes(_settings.MemoryBudgetBytes)} budget of each device (devices.memory-budget-mb)";
            _log.Warning("Lease refused: {0}", reason);
            Sender.Tell(new LeaseRefused(reason));
            return;
        }
        Context.Watch(Sender);
        _queue.Add(new Waiting(Sender, request.RequesterId, Math.Max(0, request.MemoryBytes)));
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
            var pick = NextThatFits(out var device);
            if (pick < 0) return;
            var head = _queue[pick];
            _queue.RemoveAt(pick);
            var lease = new Lease(++_lastLeaseId, device, head.Requester, head.RequesterId, Now, head.MemoryBytes);
            _leases.Add(lease.Id, lease);
            _leased[device]++;
            _memoryLeased[device] += lease.MemoryBytes;
            _grants[device]++;
            Timers.StartSingleTimer(lease.Id, new LeaseOverdue(lease.Id), _settings.MaxLeaseHold);
            lease.Holder.Tell(new LeaseGranted(lease.Id, _devices[device]));
        }
    }

    /// <summary>
    /// The waiting request to grant now, the placement's first choice, or, when that one does not fit in any device's
    /// remaining memory, the next in its order that does (work is held back, never run out of memory); -1: none fits.
    /// </summary>
    private int NextThatFits(out int device)
    {
        device = -1;
        if (_leased.All(l => l >= _settings.SlotsPerDevice)) return -1; // no free slot anywhere
        if (_placement.Order == PlacementOrder.Arrival && _settings.MemoryBudgetBytes <= 0)
        {
            // The default: the oldest request on the least leased device, no ordering to compute.
            device = LeastLeasedDeviceWithRoom(0);
            return 0;
        }
        var candidates = Enumerable.Range(0, _queue.Count).ToList();
        while (candidates.Count > 0)
        {
            var i = candidates[_placement.Next(candidates.Select(c => _queue[c].RequesterId).ToList())];
            device = LeastLeasedDeviceWithRoom(_queue[i].MemoryBytes);
            if (device >= 0) return i;
            if (_settings.MemoryBudgetBytes <= 0) return -1; // no free slot anywhere: nobody else fits either
            candidates.Remove(i);
        }
        return -1;
    }

    // Spreads leases over devices with a free slot and room for the memory; ties go to the lowest index, so one device
    // fills first only when others are busier.
    private int LeastLeasedDeviceWithRoom(long memoryBytes)
    {
        var best = -1;
        for (var d = 0; d < _leased.Length; d++)
        {
            if (_leased[d] >= _settings.SlotsPerDevice) continue;
            if (_settings.MemoryBudgetBytes > 0 && _memoryLeased[d] + memoryBytes > _settings.MemoryBudgetBytes) continue;
            if (best < 0 || _leased[d] < _leased[best]) best = d;
        }
        return best;
    }

    private static string Megabytes(long bytes) => string.Create(System.Globalization.CultureInfo.InvariantCulture, $"{bytes / (1024.0 * 1024):F0} MB");

    private void Free(Lease lease)
    {
        _leases.Remove(lease.Id);
        _leased[lease.Device]--;
        _memoryLeased[lease.Device] -= lease.MemoryBytes;
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
