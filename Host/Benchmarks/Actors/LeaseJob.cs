using System.Diagnostics;
using Akka.Actor;
using FedActors.Actors.Protocol;
using FedActors.Training.Benchmarks;

namespace FedActors.Actors.Devices;

/// <summary>
/// The lease benchmark's unit of work: what a hospital does around training (<c>HospitalActor.AwaitLease</c>) and
/// nothing else. On <see cref="StartLeaseJob"/> it asks its node's <see cref="DeviceSlots"/> for a lease, runs its
/// fixed training work while holding it, releases it and answers <see cref="LeaseJobDone"/>. Its work is built (and
/// warmed by one step) in the constructor on the training dispatcher, so no build cost lands inside a lease;
/// an answered <see cref="Identify"/> says it is built.
/// </summary>
public sealed class LeaseJob : ReceiveActor
{
    private readonly string _jobId;
    private readonly IActorRef _deviceSlots;
    private readonly int _steps;
    private readonly FixedTrainingWork _work;

    public LeaseJob(string jobId, IActorRef deviceSlots, Func<FixedTrainingWork> createWork, int steps)
    {
        _jobId = jobId;
        _deviceSlots = deviceSlots;
        _steps = steps;
        _work = createWork();
        _work.Run(1); // first calls pay libtorch's one-off costs; the timed steps should not
        Ready();
    }

    /// <param name="createWork">Builds the job's work; called on the job's own thread, where the work then runs.</param>
    public static Props Props(string jobId, IActorRef deviceSlots, Func<FixedTrainingWork> createWork, int steps) =>
        Akka.Actor.Props.Create(() => new LeaseJob(jobId, deviceSlots, createWork, steps)).WithDispatcher(Dispatchers.Training);

    private void Ready() => Receive<StartLeaseJob>(_ =>
    {
        var requestedAt = Stopwatch.GetTimestamp();
        var replyTo = Sender;
        _deviceSlots.Tell(new RequestLease(_jobId));
        Become(() => Receive<LeaseGranted>(lease => Train(lease, requestedAt, replyTo)));
    });

    private void Train(LeaseGranted lease, long requestedAt, IActorRef replyTo)
    {
        var grantedAt = Stopwatch.GetTimestamp();
        long finishedAt;
        try
        {
            if (lease.Device != _work.Device)
                throw new InvalidOperationException($"{_jobId}: leased {lease.Device}, but its work is built on {_work.Device}.");
            _work.Run(_steps);
            finishedAt = Stopwatch.GetTimestamp();
        }
        catch (Exception e)
        {
            // The starter's ask fails with the cause rather than timing out.
            replyTo.Tell(new Status.Failure(e));
            throw;
        }
        finally { _deviceSlots.Tell(new ReleaseLease(lease.LeaseId)); }
        replyTo.Tell(new LeaseJobDone(_jobId, lease.Device, requestedAt, grantedAt, finishedAt));
        Become(Ready);
    }

    protected override void PostStop() => _work.Dispose();
}
