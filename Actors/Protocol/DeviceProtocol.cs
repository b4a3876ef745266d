namespace FedActors.Actors.Protocol;

// Messages of a node's DeviceSlots actor. They only travel within one node today, but
// they hold nothing but ids and names, so they are ordinary protocol messages: a
// coordinator or a benchmark may query a worker's utilisation from another node.

/// <summary>Asks for a device slot for the sender; <paramref name="RequesterId"/> names it in logs.</summary>
/// <param name="RequesterId">Names the requester (a hospital id) in logs.</param>
/// <param name="MemoryBytes">Device memory the requester needs while it trains; 0: not said (only slots are counted for it).</param>
public sealed record RequestLease(string RequesterId, long MemoryBytes = 0) : IFedActorsMessage;

/// <summary>
/// The answer to a <see cref="RequestLease"/> that no device of the node could ever hold: its memory exceeds every
/// device's budget. Nothing is queued; the requester gives up the round.
/// </summary>
/// <param name="Reason">Names the requester, what it needs and the budget.</param>
public sealed record LeaseRefused(string Reason) : IFedActorsMessage;

/// <summary>A slot on <paramref name="Device"/> (e.g. "cpu", "cuda:1") is the receiver's until it sends <see cref="ReleaseLease"/>.</summary>
/// <param name="LeaseId">Identifies the lease; give it back in ReleaseLease.</param>
/// <param name="Device">The device the slot is on (e.g. "cpu", "cuda:1").</param>
public sealed record LeaseGranted(long LeaseId, string Device) : IFedActorsMessage;

/// <summary>Gives a slot back; only its holder may release it, and releasing twice is harmless.</summary>
/// <param name="LeaseId">The lease to give back.</param>
public sealed record ReleaseLease(long LeaseId) : IFedActorsMessage;

/// <summary>Asks for a <see cref="DeviceUtilisation"/> report.</summary>
public sealed record GetDeviceUtilisation : IFedActorsMessage
{
    /// <summary>The single instance to send.</summary>
    public static GetDeviceUtilisation Instance { get; } = new();
}

/// <summary>
/// One device's use since the slot manager started: <paramref name="BusySeconds"/> sums the
/// time every slot was leased (leases still held count up to now), so with several slots
/// it can exceed <paramref name="WallSeconds"/>.
/// </summary>
/// <param name="Device">The device name.</param>
/// <param name="Slots">Its slots (hospitals that may train on it at once).</param>
/// <param name="Leased">Slots leased right now.</param>
/// <param name="Grants">Leases granted on it so far.</param>
/// <param name="BusySeconds">Slot-seconds leased so far.</param>
/// <param name="WallSeconds">Seconds since the slot manager started.</param>
public sealed record DeviceUsage(string Device, int Slots, int Leased, long Grants, double BusySeconds, double WallSeconds)
{
    /// <summary>Busy slot-seconds over available slot-seconds, in [0, 1].</summary>
    public double Utilisation => Slots > 0 && WallSeconds > 0 ? Math.Clamp(BusySeconds / (Slots * WallSeconds), 0, 1) : 0;
}

/// <summary>
/// A node's device use. <paramref name="MaxQueueLength"/> counts requests that had to wait
/// for a slot (0 means every request was granted at once).
/// </summary>
/// <param name="Devices">Each device's use, in the node's device order.</param>
/// <param name="QueueLength">Requests waiting for a slot right now.</param>
/// <param name="MaxQueueLength">The longest the wait queue has been.</param>
public sealed record DeviceUtilisation(IReadOnlyList<DeviceUsage> Devices, int QueueLength, int MaxQueueLength) : IFedActorsMessage
{
    /// <summary>Leases granted on all the node's devices since the slot manager started.</summary>
    public long Grants => Devices.Sum(d => d.Grants);
}
