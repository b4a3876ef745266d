namespace FedActors.Actors.Protocol;

// Messages of a node's DeviceSlots actor. They only travel within one node today, but
// they hold nothing but ids and names, so they are ordinary protocol messages: a
// coordinator or a benchmark may query a worker's utilisation from another node.

/// <summary>Asks for a device slot for the sender; <paramref name="RequesterId"/> names it in logs.</summary>
public sealed record RequestLease(string RequesterId) : IFedActorsMessage;

/// <summary>A slot on <paramref name="Device"/> (e.g. "cpu", "cuda:1") is the receiver's until it sends <see cref="ReleaseLease"/>.</summary>
public sealed record LeaseGranted(long LeaseId, string Device) : IFedActorsMessage;

/// <summary>Gives a slot back; only its holder may release it, and releasing twice is harmless.</summary>
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
public sealed record DeviceUsage(string Device, int Slots, int Leased, long Grants, double BusySeconds, double WallSeconds)
{
    /// <summary>Busy slot-seconds over available slot-seconds, in [0, 1].</summary>
    public double Utilisation => Slots > 0 && WallSeconds > 0 ? Math.Clamp(BusySeconds / (Slots * WallSeconds), 0, 1) : 0;
}

/// <summary>
/// A node's device use. <paramref name="MaxQueueLength"/> counts requests that had to wait
/// for a slot (0 means every request was granted at once).
/// </summary>
public sealed record DeviceUtilisation(IReadOnlyList<DeviceUsage> Devices, int QueueLength, int MaxQueueLength) : IFedActorsMessage
{
    /// <summary>Leases granted on all the node's devices since the slot manager started.</summary>
    public long Grants => Devices.Sum(d => d.Grants);
}
