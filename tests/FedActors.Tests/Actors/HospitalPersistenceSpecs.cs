using Akka.Actor;
using FedActors.Actors.Hospitals;
using FedActors.Actors.Protocol;
using FedActors.Training.Experiments;
using Xunit.Abstractions;

namespace FedActors.Tests.Actors;

public sealed class HospitalPersistenceSpecs : ActorSpec
{
    private static readonly TimeSpan Training = TimeSpan.FromSeconds(60);
    private readonly FederatedExperiment _experiment = new(TinyExperiment.Settings(hospitals: 1));
    private readonly string _snapshots;

    public HospitalPersistenceSpecs(ITestOutputHelper output)
        : this(output, Directory.CreateTempSubdirectory("fedactors-snapshots-").FullName)
    {
    }

    private HospitalPersistenceSpecs(ITestOutputHelper output, string snapshots)
        : base(1, output, HospitalPersistence.Hocon(snapshots)) => _snapshots = snapshots;

    /// <summary>Hospital <paramref name="hospitalId"/> with site 0's shard and learner (so two ids can train identically).</summary>
    private HospitalDefinition Definition(string hospitalId)
    {
        var site = _experiment.Sites.Sites[0];
        return new HospitalDefinition(hospitalId, () => site.Train, () => _experiment.CreateLearner(site.HospitalId));
    }

    private LocalStateReport StateOf(IActorRef hospital)
    {
        hospital.Tell(GetLocalState.Instance);
        return ExpectMsg<LocalStateReport>();
    }

    /// <summary>Waits until the store has confirmed the snapshot of <paramref name="round"/>.</summary>
    private LocalStateReport AwaitSaved(IActorRef hospital, int round)
    {
        LocalStateReport report = null!;
        AwaitAssert(() => Assert.Equal(round, (report = StateOf(hospital)).SavedRound), Dilated(TimeSpan.FromSeconds(10)));
        return report;
    }

    private void Stop(IActorRef hospital)
    {
        Watch(hospital);
        hospital.Tell(PoisonPill.Instance);
        ExpectTerminated(hospital);
    }

    private string[] SnapshotFiles(string hospitalId) =>
        Directory.GetFiles(_snapshots, $"snapshot-hospital-{hospitalId}-*").Where(f => !f.EndsWith(".tmp")).ToArray();

    [Fact]
    public void Should_restore_its_local_state_after_a_restart_and_continue_as_if_never_stopped()
    {
        var global = _experiment.InitialGlobal();

        // Reference: a hospital that trains rounds 1 and 2 without stopping.
        var reference = Sys.ActorOf(HospitalActor.Props(Definition("reference"), Transfer));
        reference.Tell(Request(1, global));
        ExpectUpdate(Training);
        reference.Tell(Request(2, global));
        var uninterrupted = ExpectUpdate(Training);
        var uninterruptedState = StateOf(reference).State!;

        var first = Sys.ActorOf(HospitalActor.Props(Definition("h1"), Transfer));
        Assert.Equal(0, StateOf(first).SavedRound);
        first.Tell(Request(1, global));
        ExpectUpdate(Training);
        var beforeStop = AwaitSaved(first, 1);
        Stop(first);

        var restarted = Sys.ActorOf(HospitalActor.Props(Definition("h1"), Transfer));
        var afterRestart = StateOf(restarted);
        Assert.Equal(1, afterRestart.LastRound);
        Assert.Equal(1, afterRestart.SavedRound);
        LocalStateAssert.Same(beforeStop.State!, afterRestart.State!);

        restarted.Tell(Request(2, global));
        var second = ExpectUpdate(Training);
        Assert.Equal(uninterrupted.Weights.ContentHash, second.Weights.ContentHash);
        Assert.Equal(uninterrupted.MeanLoss, second.MeanLoss);
        LocalStateAssert.Same(uninterruptedState, StateOf(restarted).State!);

        // Only the latest snapshot is kept.
        AwaitSaved(restarted, 2);
        AwaitAssert(() => Assert.Single(SnapshotFiles("h1")), Dilated(TimeSpan.FromSeconds(10)));
    }

    [Fact]
    public void Should_fail_recovery_loudly_on_a_corrupted_snapshot()
    {
        var hospital = Sys.ActorOf(HospitalActor.Props(Definition("h1"), Transfer));
        hospital.Tell(Request(1, _experiment.InitialGlobal()));
        ExpectUpdate(Training);
        AwaitSaved(hospital, 1);
        Stop(hospital);

        var file = Assert.Single(SnapshotFiles("h1"));
        var bytes = File.ReadAllBytes(file);
        bytes[bytes.Length / 2] ^= 0x20; // inside the learner state
        File.WriteAllBytes(file, bytes);

        EventFilter.Exception<InvalidDataException>(contains: "checksum mismatch").ExpectOne(() =>
        {
            var restarted = Sys.ActorOf(HospitalActor.Props(Definition("h1"), Transfer));
            Watch(restarted);
            ExpectTerminated(restarted, Dilated(TimeSpan.FromSeconds(10)));
        });
    }

    protected override void Dispose(bool disposing)
    {
        base.Dispose(disposing);
        if (disposing && Directory.Exists(_snapshots)) Directory.Delete(_snapshots, recursive: true);
    }
}
