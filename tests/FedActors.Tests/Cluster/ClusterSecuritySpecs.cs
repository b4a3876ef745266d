using System.Collections.Concurrent;
using Akka.Actor;
using FedActors.Actors;
using FedActors.Actors.Cluster;
using FedActors.Actors.Coordination;
using FedActors.Actors.Hosting;
using FedActors.Actors.Protocol;
using FedActors.Actors.Serialization;
using FedActors.Training.Experiments;
using Microsoft.Extensions.Hosting;

namespace FedActors.Tests.Cluster;

/// <summary>Who gets into a loopback cluster, and what a process that never joined can do to it.</summary>
public sealed class ClusterSecuritySpecs
{
    private const string Secret = "correct horse battery staple";
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(60);

    private static FederatedRun Run(FederatedExperiment experiment, int rounds) => new(
        new CoordinatorSettings { Rounds = rounds, MinParticipants = experiment.Settings.Hospitals, RoundTimeout = TimeSpan.FromMinutes(2), Seed = 7 },
        TinyExperiment.UnequalHospitals(experiment),
        experiment.InitialGlobal());

    private static ClusterAdmissionSettings Admission(string? secret, string runId = "run-a") =>
        new(runId, secret is null ? null : ClusterAdmissionSettings.KeyOf(secret));

    /// <summary>Collects what a node publishes on its event stream (admissions, warnings).</summary>
    private sealed class Collector : ReceiveActor
    {
        public Collector(ConcurrentQueue<object> seen) => ReceiveAny(seen.Enqueue);
    }

    private static ConcurrentQueue<object> Watch(IHost node, params Type[] types) => Watch(node, new ConcurrentQueue<object>(), types);

    private static ConcurrentQueue<object> Watch(IHost node, ConcurrentQueue<object> seen, params Type[] types)
    {
        var system = LoopbackCluster.System(node);
        var collector = system.ActorOf(Props.Create(() => new Collector(seen)));
        foreach (var type in types) system.EventStream.Subscribe(collector, type);
        return seen;
    }

    private static Address AddressOf(IHost node) => Akka.Cluster.Cluster.Get(LoopbackCluster.System(node)).SelfAddress;

    private static Task<T> Seen<T>(ConcurrentQueue<object> seen, Func<T, bool> match, string what) =>
        TestTime.Until(() => Task.FromResult(seen.OfType<T>().FirstOrDefault(match)), e => e is not null, Bound, what)!;

    private static Task Gone(IHost seed, Address member, string what) =>
        TestTime.Until(() => Task.FromResult(Akka.Cluster.Cluster.Get(LoopbackCluster.System(seed)).State.Members.Any(m => m.Address.Equals(member))),
            present => !present, Bound, what);

    [Fact]
    public async Task Should_down_nodes_without_the_secret_or_of_another_run_and_admit_the_node_with_the_secret()
    {
        var experiment = new FederatedExperiment(TinyExperiment.Settings(hospitals: 2));
        var run = Run(experiment, rounds: 1);
        await using var cluster = new LoopbackCluster();
        var (seed, seeds) = await cluster.StartSeedNode(new ClusterNodeSettings { Roles = [NodeRoles.Coordinator], Admission = Admission(Secret) }, run);
        var seen = Watch(seed, typeof(AdmissionRefused), typeof(AdmissionGranted));
        ClusterNodeSettings Worker(ClusterAdmissionSettings admission) => new() { Roles = [NodeRoles.Worker], SeedNodes = seeds, Admission = admission };

        var right = await cluster.StartNode(Worker(Admission(Secret)), run);
        await Seen<AdmissionGranted>(seen, g => g.Member.Equals(AddressOf(right)), "the node with the secret being admitted");
        // Every older Up member judges a newcomer: the admitted worker may refuse one before the seed's own challenge
        // goes out (the seed then finds it Down and asks nothing), so a refusal is looked for on both.
        Watch(right, seen, typeof(AdmissionRefused));
        var wrong = await cluster.StartNode(Worker(Admission("another secret of some length")), run);
        var wrongRefused = await Seen<AdmissionRefused>(seen, r => r.Member.Equals(AddressOf(wrong)), "the node with a wrong secret being refused");
        var open = await cluster.StartNode(Worker(Admission(null)), run);
        var openRefused = await Seen<AdmissionRefused>(seen, r => r.Member.Equals(AddressOf(open)), "the node without a secret being refused");
        var otherRun = await cluster.StartNode(Worker(Admission(Secret, runId: "run-b")), run);
        var otherRunRefused = await Seen<AdmissionRefused>(seen, r => r.Member.Equals(AddressOf(otherRun)), "the node of another run being refused");
        var otherExperiment = await cluster.StartNode(Worker(Admission(Secret)),
            Run(new FederatedExperiment(TinyExperiment.Settings(hospitals: 2) with { Seed = 99 }), rounds: 1));
        var otherExperimentRefused = await Seen<AdmissionRefused>(seen, r => r.Member.Equals(AddressOf(otherExperiment)),
            "the node of another experiment being refused");

        Assert.Contains("does not match this cluster's secret", wrongRefused.Reason);
        Assert.Contains("has no cluster secret", openRefused.Reason);
        Assert.Contains("run id 'run-b', this cluster runs 'run-a'", otherRunRefused.Reason);
        Assert.Contains("another experiment", otherExperimentRefused.Reason);
        foreach (var refused in new[] { wrong, open, otherRun, otherExperiment })
            await Gone(seed, AddressOf(refused), $"the refused node {AddressOf(refused)} being downed and removed");
        var members = Akka.Cluster.Cluster.Get(LoopbackCluster.System(seed)).State.Members;
        Assert.Equal(new[] { AddressOf(seed), AddressOf(right) }.Select(a => a.ToString()).Order(),
            members.Where(m => m.Status == Akka.Cluster.MemberStatus.Up).Select(m => m.Address.ToString()).Order());
        Assert.DoesNotContain(seen.OfType<AdmissionRefused>(), r => r.Member.Equals(AddressOf(right)));
    }

    /// <summary>Coordinator and worker on loopback; optionally a stranger sends a subscription and a crash command first. The final model.</summary>
    private static async Task<(string FinalHash, RunCompleted Completed, IReadOnlyList<string> Warnings)> RunWithStranger(FederatedRun run, bool stranger)
    {
        await using var cluster = new LoopbackCluster();
        var (coordinator, seeds) = await cluster.StartSeedNode(new ClusterNodeSettings { Roles = [NodeRoles.Coordinator] }, run);
        var worker = await cluster.StartNode(new ClusterNodeSettings { Roles = [NodeRoles.Worker], SeedNodes = seeds, Name = "w1" }, run);
        await cluster.WaitForUp(2, Bound);
        await cluster.WaitForRegions(LoopbackCluster.Registry(coordinator).Get<HospitalRegion>(), 1, Bound);
        var warnings = Watch(coordinator, typeof(Akka.Event.Warning));
        var workerWarnings = Watch(worker, typeof(Akka.Event.Warning));
        var singleton = LoopbackCluster.Registry(coordinator).Get<RoundCoordinator>();
        await singleton.Ask<ActorIdentity>(new Identify(null), Bound); // the singleton is up before the stranger calls
        var strangerSystem = stranger ? ActorSystem.Create(ClusterHostingExtensions.SystemName, $"""
            akka.actor.provider = remote
            akka.remote.dot-netty.tcp.hostname = 127.0.0.1
            akka.remote.dot-netty.tcp.port = 0
            akka.loglevel = WARNING
            {FedActorsSerializer.Hocon}
            """) : null;
        try
        {
            var found = new List<string>();
            if (strangerSystem is not null)
            {
                var listener = strangerSystem.ActorOf(Props.Create(() => new Collector(new ConcurrentQueue<object>())), "listener");
                strangerSystem.ActorSelection($"{AddressOf(coordinator)}/user/{ClusterHostingExtensions.CoordinatorSingletonName}/{ClusterHostingExtensions.CoordinatorSingletonName}")
                    .Tell(new SubscribeToRun(listener), listener);
                strangerSystem.ActorSelection($"{AddressOf(worker)}{FedActors.Actors.Faults.NodeFaultAgent.Path}").Tell(new CrashNode("w1", 1), listener);
                found.Add((await Seen<Akka.Event.Warning>(warnings, w => w.Message.ToString()!.Contains("Refused a run subscription"),
                    "the coordinator refusing the stranger's subscription")).Message.ToString()!);
                found.Add((await Seen<Akka.Event.Warning>(workerWarnings, w => w.Message.ToString()!.Contains("Refused a crash command"),
                    "the worker refusing the stranger's crash command")).Message.ToString()!);
            }
            var completed = await singleton.AskWithin<RunCompleted>(StartRun.Instance, TimeSpan.FromMinutes(3), "the run completing");
            Assert.Contains(Akka.Cluster.Cluster.Get(LoopbackCluster.System(coordinator)).State.Members,
                m => m.Address.Equals(AddressOf(worker)) && m.Status == Akka.Cluster.MemberStatus.Up);
            return (completed.FinalGlobal.ContentHash, completed, found);
        }
        finally
        {
            if (strangerSystem is not null) await strangerSystem.Terminate();
        }
    }

    [Fact]
    public async Task Should_refuse_a_strangers_subscription_and_crash_command_and_end_on_the_clean_runs_model()
    {
        var experiment = new FederatedExperiment(TinyExperiment.Settings(hospitals: 4));
        var run = Run(experiment, rounds: 2);

        var clean = await RunWithStranger(run, stranger: false);
        var probed = await RunWithStranger(run, stranger: true);

        Assert.Contains(probed.Warnings, w => w.Contains("Refused a run subscription from akka.tcp://fedactors@127.0.0.1:") && w.Contains("not a member of this cluster"));
        Assert.Contains(probed.Warnings, w => w.Contains("Refused a crash command for w1 in round 1") && w.Contains("fault injection is off in this run"));
        Assert.All(probed.Completed.Rounds, r => Assert.Equal(4, r.Aggregated.Count));
        Assert.Equal(clean.FinalHash, probed.FinalHash);
    }
}
