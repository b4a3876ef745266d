using FedActors.Actors.Simulation;
using FedActors.Training.Data;

namespace FedActors.Host.Configuration;

/// <summary>FedScale's published client traces (<see cref="FedScaleTraces"/>), read from the keys below.</summary>
internal static partial class SimulationConfig
{
    /// <summary>FedScale's <c>client_behave_trace</c> pickle: when hospitals are on.</summary>
    public const string FedScaleBehaviourKey = Faults + ".fedscale-behaviour-trace";
    /// <summary>FedScale's <c>client_device_capacity</c> pickle: hospitals' speed factors and bandwidths.</summary>
    public const string FedScaleCapacityKey = Heterogeneity + ".fedscale-device-capacity";
    /// <summary>How hospitals are matched with FedScale client ids: <c>ascending</c> or <c>seeded</c>.</summary>
    public const string FedScaleClientsKey = "fedactors.fedscale-clients";

    private static FedScaleClientOrder ReadClientOrder(ConfigReader r) =>
        r.OneOf(FedScaleClientsKey, "ascending", "seeded") == "seeded" ? FedScaleClientOrder.Seeded : FedScaleClientOrder.Ascending;

    private static string? ReadPath(ConfigReader r, string key, string relativeTo)
    {
        var path = r.String(key);
        if (path == None) return null;
        var full = Path.GetFullPath(path, relativeTo);
        if (!File.Exists(full)) throw r.Error(key, $"names '{HoconShape.Snippet(full)}', which does not exist");
        return full;
    }

    /// <summary>
    /// The availability at <c>faults.fedscale-behaviour-trace</c>, or <paramref name="native"/> when
    /// that is none; refused together with <c>faults.availability-trace</c> (both say when hospitals are on).
    /// </summary>
    public static (AvailabilityTrace Trace, string? FullPath) ReadFedScaleAvailability(
        ConfigReader r, IReadOnlyList<string> hospitals, string relativeTo, ulong seed, AvailabilityTrace native)
    {
        if (ReadPath(r, FedScaleBehaviourKey, relativeTo) is not { } full) return (native, null);
        if (r.String(AvailabilityTraceKey) != None)
            throw r.Error(FedScaleBehaviourKey, $"cannot be used with '{AvailabilityTraceKey}' (set at {r.SourceOf(AvailabilityTraceKey).Source}): both say when hospitals are on; keep one");
        try
        {
            var trace = FedScaleTraces.ReadBehaviourTrace(full);
            var clients = FedScaleTraces.MapClients(trace.Select(c => c.ClientId), hospitals, ReadClientOrder(r), seed);
            return (FedScaleTraces.ToAvailability(trace, clients, full), full);
        }
        catch (DataFormatException e) { throw r.Error(FedScaleBehaviourKey, $"is not a valid FedScale behaviour trace: {e.Message}"); }
    }

    /// <summary>
    /// <paramref name="native"/> with every hospital's speed factor and bandwidth from
    /// <c>heterogeneity.fedscale-device-capacity</c> when set; refused together with
    /// <c>heterogeneity.hospitals</c>, <c>speed-factor</c> or <c>bandwidth-mbps</c> set by the user
    /// (the trace fixes every hospital's), and with <c>seconds-per-step = 0</c> (the scale of its latencies).
    /// </summary>
    public static (Actors.Simulation.Heterogeneity Heterogeneity, string? FullPath) ReadFedScaleDeviceCapacity(
        ConfigReader r, IReadOnlyList<string> hospitals, string relativeTo, ulong seed, int batchSize, Actors.Simulation.Heterogeneity native)
    {
        if (ReadPath(r, FedScaleCapacityKey, relativeTo) is not { } full) return (native, null);
        if (native.Hospitals.Count > 0)
            throw r.Error(FedScaleCapacityKey, $"cannot be used with '{Heterogeneity}.hospitals' (set at {r.SourceOf(Heterogeneity + ".hospitals").Source}): the trace gives every hospital its speed factor and bandwidth; keep one");
        foreach (var key in DistributionKeys)
            if (r.Fields(key).FirstOrDefault(f => r.SourceOf($"{key}.{f}").Layer > 0) is { } field)
                throw r.Error(FedScaleCapacityKey, $"cannot be used with '{key}' (set at {r.SourceOf($"{key}.{field}").Source}): the trace gives every hospital its speed factor and bandwidth; keep one");
        if (native.SecondsPerStep <= 0)
            throw r.Error(FedScaleCapacityKey, $"needs '{Heterogeneity}.seconds-per-step' > 0: FedScale's computation latencies are scaled by it");
        try
        {
            var trace = FedScaleTraces.ReadDeviceCapacity(full);
            var clients = FedScaleTraces.MapClients(trace.Select(c => c.ClientId), hospitals, ReadClientOrder(r), seed);
            return (native with { Hospitals = FedScaleTraces.ToHeterogeneity(trace, clients, batchSize, native.SecondsPerStep) }, full);
        }
        catch (DataFormatException e) { throw r.Error(FedScaleCapacityKey, $"is not a valid FedScale device capacity trace: {e.Message}"); }
    }
}
