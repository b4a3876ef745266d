namespace FedActors.Actors.Devices;

/// <summary>How a node's device-slot manager orders the hospitals waiting for a slot (<c>fedactors.devices.placement</c>).</summary>
public enum PlacementOrder
{
    /// <summary>First come, first served (<c>arrival</c>; the default).</summary>
    Arrival,

    /// <summary>
    /// The longest predicted training first (<c>longest-first</c>): each hospital's next lease is predicted from how long
    /// it held its past ones, and a hospital never seen yet counts as the longest (it is measured early). On a round that
    /// starts every hospital at once, longest-first on the least-loaded slot shortens the round's makespan when sizes are
    /// skewed (a large site started last keeps every other slot idle while it trains).
    /// </summary>
    LongestFirst,
}

/// <summary>
/// The placement decision as a pure object, tested without actors: which of the waiting hospitals gets the next free
/// slot, and what the manager learns when a lease comes back. The <see cref="DeviceSlots"/> actor only carries messages.
/// </summary>
public sealed class Placement
{
    private readonly Dictionary<string, double> _predicted = new(StringComparer.Ordinal);

    /// <summary>A placement in <paramref name="order"/>.</summary>
    /// <param name="order">How waiting hospitals are ordered.</param>
    /// <param name="smoothing">Weight of the newest lease in a hospital's prediction (an exponential moving average), in (0, 1].</param>
    public Placement(PlacementOrder order, double smoothing = 0.5)
    {
        if (smoothing is <= 0 or > 1) throw new ArgumentOutOfRangeException(nameof(smoothing), smoothing, "must be in (0, 1]");
        Order = order;
        Smoothing = smoothing;
    }

    /// <summary>How waiting hospitals are ordered.</summary>
    public PlacementOrder Order { get; }

    /// <summary>Weight of the newest lease in a hospital's prediction.</summary>
    public double Smoothing { get; }

    /// <summary>The predicted seconds of <paramref name="hospitalId"/>'s next lease; null when it has held none yet.</summary>
    /// <param name="hospitalId">The requester's id.</param>
    public double? Predicted(string hospitalId) => _predicted.TryGetValue(hospitalId, out var s) ? s : null;

    /// <summary>Learns from a lease <paramref name="hospitalId"/> held for <paramref name="seconds"/>.</summary>
    /// <param name="hospitalId">The holder's id.</param>
    /// <param name="seconds">How long it held the lease.</param>
    public void Observe(string hospitalId, double seconds)
    {
        if (!double.IsFinite(seconds) || seconds < 0) return;
        _predicted[hospitalId] = _predicted.TryGetValue(hospitalId, out var p) ? Smoothing * seconds + (1 - Smoothing) * p : seconds;
    }

    /// <summary>The index, in arrival order, of the waiting hospital that gets the next free slot.</summary>
    /// <param name="waiting">The waiting hospitals' ids, oldest first; not empty.</param>
    public int Next(IReadOnlyList<string> waiting)
    {
        if (waiting.Count == 0) throw new ArgumentException("nobody is waiting", nameof(waiting));
        if (Order == PlacementOrder.Arrival) return 0;
        var best = 0;
        var bestCost = Cost(waiting[0]);
        for (var i = 1; i < waiting.Count; i++)
        {
            var cost = Cost(waiting[i]);
            if (cost > bestCost) (best, bestCost) = (i, cost); // ties keep arrival order
        }
        return best;
    }

    private double Cost(string hospitalId) => _predicted.TryGetValue(hospitalId, out var s) ? s : double.PositiveInfinity;

    /// <summary>
    /// The makespan of jobs of <paramref name="seconds"/> (in arrival order, all waiting at time 0) on
    /// <paramref name="slots"/> slots, each free slot taking the job this placement picks, the durations known (as
    /// after a first round): what a round that starts every hospital at once would take, computed instead of
    /// measured (e.g. on recorded per-hospital times).
    /// </summary>
    /// <param name="order">The placement.</param>
    /// <param name="seconds">Each job's duration, in arrival order.</param>
    /// <param name="slots">Slots working at once.</param>
    public static double Makespan(PlacementOrder order, IReadOnlyList<double> seconds, int slots)
    {
        if (slots < 1) throw new ArgumentOutOfRangeException(nameof(slots), slots, "at least one slot");
        var placement = new Placement(order);
        var waiting = seconds.Select((_, i) => i.ToString(System.Globalization.CultureInfo.InvariantCulture)).ToList();
        for (var i = 0; i < seconds.Count; i++) placement.Observe(waiting[i], seconds[i]);
        var free = new PriorityQueue<int, double>();
        for (var s = 0; s < slots; s++) free.Enqueue(s, 0);
        var makespan = 0.0;
        while (waiting.Count > 0)
        {
            free.TryDequeue(out var slot, out var at);
            var pick = placement.Next(waiting);
            var end = at + seconds[int.Parse(waiting[pick], System.Globalization.CultureInfo.InvariantCulture)];
            waiting.RemoveAt(pick);
            makespan = Math.Max(makespan, end);
            free.Enqueue(slot, end);
        }
        return makespan;
    }
}
