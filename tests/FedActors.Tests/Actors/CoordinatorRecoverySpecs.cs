using FedActors.Testing;
using Akka.Actor;
using FedActors.Actors.Coordination;
using FedActors.Actors.Faults;
using FedActors.Actors.Hospitals;
using FedActors.Actors.Protocol;
using FedActors.Training.Experiments;
using Xunit.Abstractions;

namespace FedActors.Tests.Actors;

/// <summary>Deterministic replay and coordinator crash recovery, with real (tiny) MoCo hospitals.</summary>
public class CoordinatorRecoverySpecs(ITestOutputHelper output)
    : ActorSpec(2, output, CoordinatorPersistence.Hocon(Directory.CreateTempSubdirectory("fedactors-checkpoints-").FullName))
{
    private static readonly TimeSpan Timeout = TimeSpan.FromMinutes(4);
    private readonly FederatedExperiment _experiment = new(TinyExperiment.Settings(hospitals: 5, seed: 13));

    private static CoordinatorSettings Settings(int rounds, FaultPlan faults) => new()
    {
        Rounds = rounds, MinParticipants = 1, Seed = 13, RoundTimeout = TimeSpan.FromMinutes(2),
        Faults = faults,
    };

    private static readonly FaultPlan Dropout = new() { Dropout = new RandomDropout(0.25, [DropoutStage.BeforeTraining, DropoutStage.AfterUpload]) };

    /// <summary>A run with its own hospitals and its own checkpoint stream (<paramref name="name"/>).</summary>
    private (RunCompleted Completed, RunLog Log) RunOnce(string name, CoordinatorSettings settings)
    {
        var hospitals = TinyExperiment.UnequalHospitals(_experiment).ToDictionary(
            h => h.HospitalId, h => Sys.ActorOf(HospitalActor.Props(h, Transfer), $"{name}-{h.HospitalId}"));
        var handle = RunLog.Start(Sys, TestActor);
        var coordinator = Sys.ActorOf(RoundCoordinator.Props(settings, hospitals, _experiment.InitialGlobal(), Transfer, persistenceId: name), name);
        coordinator.Tell(new SubscribeToRun(handle.Ref));
        coordinator.Tell(StartRun.Instance, ActorRefs.NoSender); // RunCompleted comes through the log, after every event
        return (ExpectMsg<RunCompleted>(Timeout), handle);
    }

    [Fact]
    public void Should_replay_bit_for_bit_with_the_same_seed_config_and_fault_plan()
    {
        var (first, firstLog) = RunOnce("replay-a", Settings(3, Dropout));
        var (second, secondLog) = RunOnce("replay-b", Settings(3, Dropout));

        Assert.Equal(first.FinalGlobal.ContentHash, second.FinalGlobal.ContentHash);
        Assert.Equal(first.Rounds.Select(r => r.GlobalHash), second.Rounds.Select(r => r.GlobalHash));
        Assert.Equal(first.Rounds.Select(r => string.Join(',', r.Aggregated)), second.Rounds.Select(r => string.Join(',', r.Aggregated)));
        Assert.Equal(firstLog.Events.Select(e => e.ToString()), secondLog.Events.Select(e => e.ToString()));
        Assert.Contains(firstLog.Events, e => e.Kind is RunEventKinds.Dropped or RunEventKinds.Lost); // the plan did fire
        Assert.All(first.Rounds, r => Assert.NotEmpty(r.Aggregated));
    }

    [Fact]
    public void Should_resume_after_a_coordinator_crash_in_round_3_and_end_where_the_uninterrupted_run_ends()
    {
        var (uninterrupted, _) = RunOnce("straight", Settings(6, Dropout));
        var (recovered, log) = RunOnce("crashing", Settings(6, Dropout with { CoordinatorCrashes = [new ScriptedCoordinatorCrash(3)] }));

        Assert.Equal(uninterrupted.FinalGlobal.ContentHash, recovered.FinalGlobal.ContentHash);
        Assert.Equal(uninterrupted.Rounds.Select(r => r.GlobalHash), recovered.Rounds.Select(r => r.GlobalHash));
        Assert.Equal(Enumerable.Range(1, 6), recovered.Rounds.Select(r => r.Round));
        var crash = Assert.Single(log.Of(RunEventKinds.CoordinatorCrash));
        Assert.Equal(3, crash.Round);
        var recovery = Assert.Single(log.Of(RunEventKinds.CoordinatorRecovered));
        Assert.Equal(3, recovery.Round);
        Assert.Contains("continuing after round 2", recovery.Reason);
    }

    protected override void AfterAll()
    {
        base.AfterAll();
        var dir = Sys.Settings.Config.GetString("akka.persistence.snapshot-store.local.dir");
        try { if (dir is not null && Directory.Exists(dir)) Directory.Delete(dir, recursive: true); }
        catch (IOException) { }
    }
}
