using Akka.Actor;

namespace FedActors.Actors.Protocol;

// Messages of the lease benchmark's jobs (Devices.LeaseJob). Local to one process: never serialized.

/// <summary>Asks a job to lease a slot, run its work once on it and answer <see cref="LeaseJobDone"/>.</summary>
public sealed record StartLeaseJob : INoSerializationVerificationNeeded
{
    public static StartLeaseJob Instance { get; } = new();
}

/// <summary>
/// One job's run, in <see cref="System.Diagnostics.Stopwatch"/> timestamps: it asked for a lease at
/// <paramref name="RequestedAt"/>, began training on <paramref name="Device"/> once granted at
/// <paramref name="GrantedAt"/>, and finished (releasing the lease) at <paramref name="FinishedAt"/>.
/// </summary>
public sealed record LeaseJobDone(string JobId, string Device, long RequestedAt, long GrantedAt, long FinishedAt)
    : INoSerializationVerificationNeeded;
