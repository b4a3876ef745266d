using FedActors.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace FedActors.Actors.Devices;

/// <summary>
/// A node's devices and how many hospitals may train on each at once. <see cref="Devices"/>
/// holds device names ("cpu", "cuda:0", ...) or the single entry <see cref="Auto"/>: every
/// CUDA device libtorch sees, or the CPU when it sees none.
/// </summary>
public sealed record DeviceSlotsSettings
{
    /// <summary>The device list entry meaning every CUDA device libtorch sees, or the CPU when it sees none.</summary>
    public const string Auto = "auto";

    /// <summary>The node's devices by name (<c>cpu</c>, <c>cuda:0</c>, ...) or the single entry <see cref="Auto"/> (<c>fedactors.devices.list</c>; default <c>cpu</c>).</summary>
    public IReadOnlyList<string> Devices { get; init; } = ["cpu"];

    /// <summary>How many hospitals may train on each device at once, at least 1 (<c>fedactors.devices.slots-per-device</c>; default 1).</summary>
    public int SlotsPerDevice { get; init; } = 1;

    /// <summary>How hospitals waiting for a slot are ordered (<c>fedactors.devices.placement</c>: <c>arrival</c>, the default, or <c>longest-first</c>).</summary>
    public PlacementOrder Placement { get; init; } = PlacementOrder.Arrival;

    /// <summary>
    /// Device memory each device may lend out at once, in bytes (<c>fedactors.devices.memory-budget-mb</c>); 0: no
    /// budget, only slots count. With a budget, a hospital is granted a slot only on a device with room for what it
    /// needs (<see cref="Protocol.RequestLease.MemoryBytes"/>); otherwise it waits, and one that fits no device at all is refused.
    /// </summary>
    public long MemoryBudgetBytes { get; init; }

    /// <summary>A lease held longer than this is logged as a warning (a stuck hospital), never revoked.</summary>
    public TimeSpan MaxLeaseHold { get; init; } = TimeSpan.FromMinutes(30);

    /// <summary>Whether <see cref="Devices"/> is the single entry <see cref="Auto"/> (any case).</summary>
    public bool IsAuto => Devices.Count == 1 && string.Equals(Devices[0], Auto, StringComparison.OrdinalIgnoreCase);

    /// <summary>
    /// Canonical names of this node's devices, <see cref="Auto"/> expanded. Fails naming the
    /// device when one is malformed, listed twice, or a CUDA device this node does not have:
    /// a lease on a device that cannot run would only fail later, mid-round.
    /// </summary>
    public IReadOnlyList<string> ResolveDevices() => ResolveDevices(cuda.device_count());

    /// <summary><see cref="ResolveDevices()"/> against a given CUDA device count (testable without GPUs).</summary>
    public IReadOnlyList<string> ResolveDevices(int cudaDevices)
    {
        if (SlotsPerDevice < 1) throw new ArgumentException($"Device slots per device must be at least 1, found {SlotsPerDevice}.");
        if (IsAuto)
            return cudaDevices > 0 ? Enumerable.Range(0, cudaDevices).Select(i => $"cuda:{i}").ToList() : ["cpu"];
        if (Devices.Count == 0) throw new ArgumentException("The device list is empty; list at least one device, or 'auto'.");

        var names = new List<string>();
        foreach (var name in Devices)
        {
            var device = TorchRuntime.ParseDevice(name);
            var canonical = device.type switch
            {
                DeviceType.CPU => "cpu",
                // Bare "cuda" means libtorch's current device, which is cuda:0 unless changed.
                DeviceType.CUDA => $"cuda:{Math.Max(0, device.index)}",
                _ => throw new ArgumentException($"Device '{name}': only cpu and cuda devices can be leased."),
            };
            if (device.type == DeviceType.CUDA && Math.Max(0, device.index) >= cudaDevices)
                throw new ArgumentException($"Device '{name}' is not on this node: libtorch sees {cudaDevices} CUDA device(s).");
            if (names.Contains(canonical)) throw new ArgumentException($"Device '{name}' is listed twice.");
            names.Add(canonical);
        }
        return names;
    }
}
