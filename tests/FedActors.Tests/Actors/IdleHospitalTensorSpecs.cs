using Akka.Actor;
using FedActors.Actors.Hospitals;
using FedActors.Actors.Protocol;
using FedActors.Training.Experiments;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace FedActors.Tests.Actors;

/// <summary>Specs that count every live tensor of the process, so nothing else may create tensors while they run.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class TensorCounting
{
    public const string Name = "tensor counting";
}

[Collection(TensorCounting.Name)]
public sealed class IdleHospitalTensorSpecs : ActorSpec
{
    private static readonly TimeSpan Training = TimeSpan.FromSeconds(60);
    private readonly FederatedExperiment _experiment = new(TinyExperiment.Settings(hospitals: 2));
    private readonly string _snapshots;

    public IdleHospitalTensorSpecs(ITestOutputHelper output) : this(output, Directory.CreateTempSubdirectory("fedactors-idle-tensors-").FullName)
    {
    }

    private IdleHospitalTensorSpecs(ITestOutputHelper output, string snapshots)
        : base(1, output, HospitalPersistence.Hocon(snapshots)) => _snapshots = snapshots;

    private HospitalDefinition Definition(int site) =>
        new(_experiment.Sites.Sites[site].HospitalId, () => _experiment.Sites.Sites[site].Train, () => _experiment.CreateLearner(_experiment.Sites.Sites[site].HospitalId));

    /// <summary>
    /// Tensors alive in this process once everything unreachable is finalized (an undisposed tensor frees itself then),
    /// by TorchSharp's own count. That count keeps one for every Parameter ever built (its constructor takes the source
    /// tensor's handle without uncounting it), so a learner's lifetime leaves exactly its parameter count behind.
    /// </summary>
    private static long LiveTensors()
    {
        // Until the count holds still: a finaliser can release tensors that only become garbage once it has run
        // (a module's, a learner's), and those wait for the next collection; one pass left such garbage from specs
        // run before this one to be freed between the baseline and a later count.
        var count = long.MinValue;
        for (var pass = 0; pass < 20 && count != Tensor.TotalCount; pass++)
        {
            count = Tensor.TotalCount;
            GC.Collect();
            GC.WaitForPendingFinalizers();
            GC.Collect();
            GC.WaitForPendingFinalizers();
        }
        return Tensor.TotalCount;
    }

    [Fact]
    public void Should_hold_no_tensors_for_a_hospital_between_its_rounds()
    {
        var global = _experiment.InitialGlobal();
        int parametersPerLearner;
        using (var network = FedActors.Training.TorchRuntime.Seeded(1, _experiment.CreateNetwork)) parametersPerLearner = 2 * network.parameters().Count(); // query and key encoders
        var baseline = LiveTensors();

        // Control: a resident hospital keeps its learner's tensors (two encoders, momentum buffers, queue) after
        // answering, so the count does see a hospital's state; stopped, it disposes them all.
        var resident = Sys.ActorOf(HospitalActor.Props(Definition(0), Transfer));
        resident.Tell(Request(1, global));
        ExpectUpdate(Training);
        // Its encoders' parameters (and their counted sources), and the query encoder's momentum buffers.
        Assert.True(LiveTensors() >= baseline + 2 * parametersPerLearner + parametersPerLearner / 2, "a resident hospital should hold its learner's tensors");
        Watch(resident);
        resident.Tell(PoisonPill.Instance);
        ExpectTerminated(resident);
        AwaitAssert(() => Assert.Equal(baseline + parametersPerLearner, LiveTensors()), Dilated(TimeSpan.FromSeconds(10)));

        // A passivated hospital: trained, answered, snapshotted and stopped, it leaves no tensor behind either.
        var host = Sys.ActorOf(HospitalHost.Props([Definition(1)], Transfer));
        host.Tell(new ToHospital(_experiment.Sites.Sites[1].HospitalId, Request(1, global)));
        ExpectUpdate(Training);
        AwaitAssert(() =>
        {
            host.Tell(HospitalHost.GetLiveHospitals.Instance);
            Assert.Empty(ExpectMsg<HospitalHost.LiveHospitals>().HospitalIds);
        }, TimeSpan.FromSeconds(10));
        // Its two encoders are parked in the experiment's pool for the next hospital restored (at most a few, however
        // many hospitals are idle); the hospital itself holds nothing.
        Assert.Equal(2, _experiment.Networks.Parked);
        _experiment.Networks.Clear();
        AwaitAssert(() => Assert.Equal(baseline + 2 * parametersPerLearner, LiveTensors()), Dilated(TimeSpan.FromSeconds(10)));
    }

    protected override void Dispose(bool disposing)
    {
        base.Dispose(disposing);
        if (disposing && Directory.Exists(_snapshots)) Directory.Delete(_snapshots, recursive: true);
    }
}
