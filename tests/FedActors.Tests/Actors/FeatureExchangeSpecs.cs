using Akka.Actor;
using FedActors.Actors.Coordination;
using FedActors.Actors.Hospitals;
using FedActors.Actors.Protocol;
using FedActors.Training.Experiments;
using FedActors.Training.Methods;
using FedActors.Training.Methods.Fcl;
using FedActors.Training.Objectives;
using Xunit.Abstractions;

namespace FedActors.Tests.Actors;

/// <summary>
/// FCL through the unchanged hospital and coordinator actors, every message serialised: what
/// each hospital uploads and receives is inspected on the way.
/// </summary>
public sealed class FeatureExchangeSpecs(ITestOutputHelper output)
    : ActorSpec(1, output, CoordinatorPersistence.Hocon(Directory.CreateTempSubdirectory("fedactors-fcl-").FullName))
{
    [Fact]
    public void Should_exchange_only_partition_tagged_features_and_count_exactly_their_bytes()
    {
        var experiment = new FederatedExperiment(TinyExperiment.Volumetric());
        var options = new FclOptions { ExchangeSize = 5 };
        var method = new FclMethod(experiment, options);
        var observer = CreateTestProbe();
        var hospitals = experiment.Sites.Sites.ToDictionary(s => s.HospitalId, s => Sys.ActorOf(UploadTap.Props(
            Sys.ActorOf(HospitalActor.Props(new HospitalDefinition(s.HospitalId, () => s.Train, () => method.CreateClient(s.HospitalId)), Transfer), $"fcl-{s.HospitalId}"), Transfer,
            observer, requestsToo: true)));
        var coordinator = Sys.ActorOf(RoundCoordinator.Props(new CoordinatorSettings { Rounds = 2, MinParticipants = 3, Seed = 7 }, hospitals,
            method.InitialGlobal(), Transfer, persistenceId: "fcl", createServer: method.CreateServer), "fcl");
        coordinator.Tell(StartRun.Instance, TestActor);
        var completed = ExpectMsg<RunCompleted>(Dilated(TimeSpan.FromMinutes(2)));
        var seen = observer.ReceiveWhile<object>(TimeSpan.FromMilliseconds(500), m => m).ToList();
        var uploads = seen.OfType<LocalUpdate>().ToList();
        var requests = seen.OfType<TappedRequest>().ToList();

        Assert.Equal(6, uploads.Count);
        var pixels = experiment.Sites.Sites[0].Train.PixelsPerImage;
        foreach (var u in uploads)
        {
            // Weights and one features payload: rows of the projection's width, never an image's.
            var (name, payload) = Assert.Single(u.Extras!.Parts);
            var features = Assert.IsType<FeaturesPayload>(payload);
            Assert.Equal(FclClient.FeaturesPayload, name);
            Assert.Equal(u.HospitalId, features.Site);
            Assert.Equal(5, features.Count);
            Assert.Equal(experiment.Settings.ProjectionDim, features.Dimension);
            Assert.NotEqual(pixels, features.Dimension);
            var up = completed.Rounds[u.Round - 1].Traffic!.Single(t => t.HospitalId == u.HospitalId && t.Direction == ClientTraffic.Up && t.Kind == PayloadKinds.Features);
            Assert.Equal(features.Bytes, up.Bytes);
            Assert.Equal(5L * (16 * sizeof(float) + sizeof(int)), up.Bytes);
        }
        // Round 1 forwards nothing; round 2 forwards each hospital the two other sites' round-1 features, exactly.
        Assert.All(requests.Where(r => r.Round == 1), r => Assert.True(r.Broadcast is null || r.Broadcast.IsEmpty));
        var round2 = completed.Rounds[1];
        foreach (var u in uploads.Where(u => u.Round == 2))
        {
            var others = uploads.Where(o => o.Round == 1 && o.HospitalId != u.HospitalId).ToList();
            var down = round2.Traffic!.Single(t => t.HospitalId == u.HospitalId && t.Direction == ClientTraffic.Down && t.Kind == PayloadKinds.Features);
            Assert.Equal(others.Sum(o => o.Extras!.Bytes), down.Bytes);
        }
        var forwarded = requests.Where(r => r.Round == 2).Select(r => r.Broadcast!).ToList();
        Assert.Equal(3, forwarded.Count);
        Assert.All(forwarded, b => Assert.Equal(2, b.Count));
        // Each request leaves out one site, its recipient's own: the three leave out the three sites.
        var sites = experiment.Sites.Sites.Select(s => s.HospitalId).ToList();
        Assert.Equal(sites, forwarded.Select(b => sites.Single(site => b.Parts.All(p => ((FeaturesPayload)p.Value).Site != site))).Order(StringComparer.Ordinal));
        Assert.All(forwarded, b => Assert.All(b.Parts, p => Assert.Equal(
            uploads.Single(u => u.Round == 1 && u.HospitalId == ((FeaturesPayload)p.Value).Site).Extras!.Get<FeaturesPayload>(FclClient.FeaturesPayload, "spec").Values,
            ((FeaturesPayload)p.Value).Values)));
    }
}
