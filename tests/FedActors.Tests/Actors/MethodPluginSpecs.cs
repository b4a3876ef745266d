using FedActors.Testing;
using System.Collections.Concurrent;
using Akka.Actor;
using FedActors.Actors.Coordination;
using FedActors.Actors.Faults;
using FedActors.Actors.Hospitals;
using FedActors.Actors.Protocol;
using FedActors.Training.Data;
using FedActors.Training.Methods;
using FedActors.Training.Objectives;
using FedActors.Training.Weights;
using TorchSharp;
using Xunit.Abstractions;

namespace FedActors.Tests.Actors;

/// <summary>
/// A federated method written here, in a spec — its clients upload a trust score and their site
/// statistics, its server broadcasts an offset and weighs uploads by trust — runs through the
/// unchanged hospital and coordinator actors, every message serialised on the way.
/// </summary>
public sealed class MethodPluginSpecs(ITestOutputHelper output)
    : ActorSpec(2, output, CoordinatorPersistence.Hocon(Directory.CreateTempSubdirectory("fedactors-method-").FullName))
{
    private static readonly TimeSpan Timeout = TimeSpan.FromMinutes(1);
    private static readonly Dictionary<string, double> Trust = new() { ["hospital-000"] = 1, ["hospital-001"] = 2, ["hospital-002"] = 5 };

    /// <summary>Every (hospital, round) → the offset its broadcast carried, in arrival order.</summary>
    private readonly ConcurrentQueue<(string Hospital, int Round, double Offset)> _received = new();

    private sealed class TrustingClient(DriftLearner learner, string hospitalId, double? trust, ConcurrentQueue<(string, int, double)> received)
        : IFederatedClient
    {
        public void ReceiveBroadcast(int round, MethodPayloads broadcast) =>
            received.Enqueue((hospitalId, round, broadcast.Get<ScalarPayload>(TrustServer.Offset, hospitalId).Value));

        public MethodPayloads CollectUpload(int round, ImageShard shard) => trust is null
            ? MethodPayloads.Of((TrustServer.Site, new StatisticsPayload([new SiteStatistics(hospitalId, 0.5, 0.25)])))
            : MethodPayloads.Of((TrustServer.Trust, new ScalarPayload(trust.Value)),
                (TrustServer.Site, new StatisticsPayload([new SiteStatistics(hospitalId, 0.5, 0.25)])));

        public void LoadGlobal(ModelWeights global) => learner.LoadGlobal(global);
        public LocalTrainingResult Train(ImageShard shard) => learner.Train(shard);
        public ModelWeights ExportWeights() => learner.ExportWeights();
        public LocalStateSummary DescribeState() => learner.DescribeState();
        public void SaveState(Stream stream) => learner.SaveState(stream);
        public void LoadState(Stream stream, string source) => learner.LoadState(stream, source);
        public void MoveTo(torch.Device device) => learner.MoveTo(device);
        public void Dispose() => learner.Dispose();
    }

    /// <summary>
    /// Broadcasts to hospital k 100 × rounds aggregated so far + the round + 10·k (so a lost server state
    /// or a broadcast sent to the wrong hospital shows); weighs uploads by trust.
    /// </summary>
    private sealed class TrustServer : IFederatedServer
    {
        public const string Offset = "offset", Trust = "trust", Site = "site";
        private int _aggregated;

        public string Method => "trust-weighted";

        public MethodPayloads Broadcast(int round, string hospitalId) =>
            MethodPayloads.Of((Offset, new ScalarPayload(100 * _aggregated + round + 10 * int.Parse(hospitalId["hospital-".Length..]))));

        public string? Check(int round, ClientContribution upload) =>
            upload.Extras.TryGet<ScalarPayload>(Trust, out var t) && t.Value > 0 ? null : $"{upload.HospitalId} sent no positive trust";

        public ServerAggregate Aggregate(int round, ModelWeights previousGlobal, IReadOnlyList<ClientContribution> accepted)
        {
            _aggregated++;
            return FederatedAveragingServer.Weighted(accepted, accepted.Select(u => u.Extras.Get<ScalarPayload>(Trust, u.HospitalId).Value).ToList());
        }

        public byte[] SaveState() => BitConverter.GetBytes(_aggregated);

        public void LoadState(byte[] state, string source) =>
            _aggregated = state.Length == sizeof(int) ? BitConverter.ToInt32(state) : throw new InvalidDataException($"{source}: {state.Length} bytes");
    }

    private (RunCompleted Completed, RunLog Log, List<LocalUpdate> Uploads) RunTrustWeighted(
        string name, int rounds, FaultPlan? faults = null, string? silentHospital = null)
    {
        var observer = CreateTestProbe();
        var hospitals = DriftLearner.Hospitals(3).Select(h => h with
        {
            CreateLearner = () => new TrustingClient(new DriftLearner(7, h.HospitalId), h.HospitalId,
                h.HospitalId == silentHospital ? null : Trust[h.HospitalId], _received),
        }).ToDictionary(h => h.HospitalId, h => Sys.ActorOf(UploadTap.Props(Sys.ActorOf(HospitalActor.Props(h, Transfer), $"{name}-{h.HospitalId}"), Transfer, observer)));
        var handle = RunLog.Start(Sys, TestActor);
        var settings = new CoordinatorSettings { Rounds = rounds, MinParticipants = 2, Seed = 7, Faults = faults ?? FaultPlan.None };
        var coordinator = Sys.ActorOf(RoundCoordinator.Props(settings, hospitals, DriftLearner.InitialGlobal(), Transfer, persistenceId: name,
            createServer: () => new TrustServer()), name);
        coordinator.Tell(new SubscribeToRun(handle.Ref));
        coordinator.Tell(StartRun.Instance, ActorRefs.NoSender);
        var completed = ExpectMsg<RunCompleted>(Timeout);
        return (completed, handle, observer.ReceiveWhile<LocalUpdate>(TimeSpan.FromMilliseconds(300), m => (m as LocalUpdate)!).ToList());
    }

    [Fact]
    public void Should_run_a_method_defined_in_a_spec_through_the_actors_and_aggregate_as_it_says()
    {
        var (completed, _, uploads) = RunTrustWeighted("trust", rounds: 2);

        // Each client got the server's broadcast to it before each round.
        Assert.Equal([(1, 11.0), (2, 112.0)], _received.Where(r => r.Hospital == "hospital-001").Select(r => (r.Round, r.Offset)));
        Assert.Equal([(1, 21.0), (2, 122.0)], _received.Where(r => r.Hospital == "hospital-002").Select(r => (r.Round, r.Offset)));
        // The server weighed by trust: 1, 2, 5 of 8, and the global is exactly that mean of round 2's uploads.
        var last = completed.Rounds[^1];
        Assert.Equal(new Dictionary<string, double> { ["hospital-000"] = 1 / 8.0, ["hospital-001"] = 2 / 8.0, ["hospital-002"] = 5 / 8.0 },
            last.AggregationWeights);
        var round2 = uploads.Where(u => u.Round == 2).OrderBy(u => u.HospitalId, StringComparer.Ordinal).ToList();
        Assert.All(round2, u => Assert.Equal(Trust[u.HospitalId], u.Extras!.Get<ScalarPayload>(TrustServer.Trust, "spec").Value));
        var w = completed.FinalGlobal["w"].Values;
        for (var k = 0; k < w.Length; k++)
            Assert.Equal(round2.Sum(u => Trust[u.HospitalId] / 8 * u.Weights["w"].Values[k]), w[k], 5);
    }

    [Fact]
    public void Should_count_every_payload_per_hospital_kind_and_direction()
    {
        var (completed, _, _) = RunTrustWeighted("traffic", rounds: 1);

        var round = completed.Rounds[0];
        const long weights = DriftLearner.Size * sizeof(float), scalar = sizeof(double), statistics = 2 * sizeof(float);
        foreach (var hospital in Trust.Keys)
        {
            var traffic = round.Traffic!.Where(t => t.HospitalId == hospital).ToDictionary(t => (t.Direction, t.Kind), t => t.Bytes);
            Assert.Equal(new Dictionary<(string, string), long>
            {
                [(ClientTraffic.Down, PayloadKinds.Weights)] = weights,
                [(ClientTraffic.Down, PayloadKinds.Scalar)] = scalar,
                [(ClientTraffic.Up, PayloadKinds.Weights)] = weights,
                [(ClientTraffic.Up, PayloadKinds.Scalar)] = scalar,
                [(ClientTraffic.Up, PayloadKinds.Statistics)] = statistics,
            }, traffic);
        }
        Assert.Equal(3 * (weights + scalar), round.BytesDown);
        Assert.Equal(3 * (weights + scalar + statistics), round.BytesUp);
    }

    [Fact]
    public void Should_reject_an_upload_the_method_cannot_use_and_close_the_round_with_the_others()
    {
        var (completed, log, _) = RunTrustWeighted("silent", rounds: 1, silentHospital: "hospital-001");

        var rejected = Assert.Single(log.Of(RunEventKinds.Rejected));
        Assert.Equal("hospital-001", rejected.HospitalId);
        Assert.Equal("hospital-001 sent no positive trust", rejected.Reason);
        Assert.Equal(["hospital-000", "hospital-002"], completed.Rounds[0].Aggregated);
        Assert.Equal(1 / 6.0, completed.Rounds[0].AggregationWeights!["hospital-000"], 12);
    }

    [Fact]
    public void Should_restore_the_method_servers_state_when_the_coordinator_recovers()
    {
        var (completed, log, _) = RunTrustWeighted("recovering", rounds: 3,
            new FaultPlan { CoordinatorCrashes = [new ScriptedCoordinatorCrash(2)] });

        Assert.Single(log.Of(RunEventKinds.CoordinatorRecovered));
        // Round 2 was broadcast before the crash and again after it: both times with the state the checkpoint of round 1 kept.
        double Own(string hospital) => 10 * int.Parse(hospital["hospital-".Length..]);
        Assert.All(_received.Where(r => r.Round == 2), r => Assert.Equal(102 + Own(r.Hospital), r.Offset));
        Assert.All(_received.Where(r => r.Round == 3), r => Assert.Equal(203 + Own(r.Hospital), r.Offset));
        Assert.Equal(3, completed.Rounds.Count);
    }

    protected override void AfterAll()
    {
        base.AfterAll();
        var dir = Sys.Settings.Config.GetString("akka.persistence.snapshot-store.local.dir");
        try { if (dir is not null && Directory.Exists(dir)) Directory.Delete(dir, recursive: true); }
        catch (IOException) { }
    }
}
