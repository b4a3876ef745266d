using System.Collections.Concurrent;
using System.Net.Sockets;
using Akka.Actor;
using Akka.Event;
using FedActors.Actors;
using FedActors.Actors.Cluster;
using FedActors.Actors.Coordination;
using FedActors.Actors.Hosting;
using FedActors.Training.Experiments;

namespace FedActors.Tests.Cluster;

/// <summary>Junk on the remoting port: one warning line, never an ERROR with a trace.</summary>
public sealed class ForeignConnectionLogSpecs
{
    private sealed class Collector : ReceiveActor
    {
        public Collector(ConcurrentQueue<LogEvent> seen) => Receive<LogEvent>(seen.Enqueue);
    }

    private static Error Raised(Exception cause, string source = "TcpServerHandler (akka://fedactors)", string message = "Error caught channel [a->b](Id=1)")
    {
        try { throw cause; }
        catch (Exception thrown) { return new Error(thrown, source, typeof(ForeignConnectionLogSpecs), message); }
    }

    [Fact]
    public async Task Should_replace_a_garbled_frame_by_one_warning_line_and_drop_a_refused_tls_handshake_silently()
    {
        using var system = ActorSystem.Create("foreign-log", TestTime.AkkaTestHocon);
        var seen = new ConcurrentQueue<LogEvent>();
        system.EventStream.Subscribe(system.ActorOf(Props.Create(() => new Collector(seen))), typeof(Warning));
        var filter = new ForeignConnectionLog();
        filter.Attach(system.EventStream);

        Assert.Equal(LogFilterDecision.Drop, filter.ShouldKeepMessage(Raised(new DotNetty.Codecs.TooLongFrameException("Adjusted frame length exceeds 1000000: 542393675 - discarded"))));
        Assert.Equal(LogFilterDecision.Drop, filter.ShouldKeepMessage(Raised(new IOException("Channel is closed"), message: "TLS handshake failed on channel [a->b]\nTLS handshake failed (Server side):")));
        Assert.Equal(LogFilterDecision.Drop, filter.ShouldKeepMessage(Raised(new AggregateException(new System.Security.Authentication.AuthenticationException("rejected")))));
        // Anything else is kept: a codec error elsewhere, a real failure in the handler, a warning.
        Assert.Equal(LogFilterDecision.NoDecision, filter.ShouldKeepMessage(Raised(new DotNetty.Codecs.TooLongFrameException("x"), source: "RoundCoordinator")));
        Assert.Equal(LogFilterDecision.NoDecision, filter.ShouldKeepMessage(Raised(new InvalidOperationException("a bug"))));
        Assert.Equal(LogFilterDecision.NoDecision, filter.ShouldKeepMessage(new Warning("TcpServerHandler (akka://fedactors)", typeof(object), "x")));

        var line = await TestTime.Until(() => Task.FromResult(seen.ToArray()), w => w.Length > 0, TimeSpan.FromSeconds(10), "the warning line");
        var only = Assert.Single(line);
        Assert.Equal("Closed a connection that is not this cluster's remoting (Error caught channel [a->b](Id=1)): TooLongFrameException: " +
                     "Adjusted frame length exceeds 1000000: 542393675 - discarded", only.Message);
    }

    [Fact]
    public async Task Should_turn_a_peers_disassociation_into_an_info_line_and_keep_other_remoting_errors()
    {
        using var system = ActorSystem.Create("disassociation-log", TestTime.AkkaTestHocon);
        var seen = new ConcurrentQueue<LogEvent>();
        system.EventStream.Subscribe(system.ActorOf(Props.Create(() => new Collector(seen))), typeof(Info));
        var filter = new DisassociationLog();
        filter.Attach(system.EventStream);
        const string writer = "akka://fedactors/system/endpointManager/reliableEndpointWriter-akka.tcp%3A%2F%2Ffedactors%40127.0.0.1%3A4053-2/endpointWriter";

        Assert.Equal(LogFilterDecision.Drop, filter.ShouldKeepMessage(new Error(null, writer, typeof(object), "Disassociated")));
        Assert.Equal(LogFilterDecision.NoDecision, filter.ShouldKeepMessage(new Error(null, writer, typeof(object), "Association failed: serialization")));
        Assert.Equal(LogFilterDecision.NoDecision, filter.ShouldKeepMessage(new Error(null, "akka://fedactors/user/round-coordinator", typeof(object), "Disassociated")));

        var info = await TestTime.Until(() => Task.FromResult(seen.ToArray()), e => e.Length > 0, TimeSpan.FromSeconds(10), "the info line");
        Assert.Equal("Association ended by its peer (Disassociated)", Assert.Single(info).Message);
        Assert.Equal(writer, info[0].LogSource);
    }

    // The ERROR itself still reaches event-stream subscribers (filters act in the loggers): the warning line is what
    // shows the node's loggers run the filter, whose dropping the first spec checks.
    [Fact]
    public async Task Should_log_junk_sent_to_a_node_remoting_port_as_a_warning_line_and_no_error()
    {
        var experiment = new FederatedExperiment(TinyExperiment.Settings(hospitals: 2));
        var run = new FederatedRun(new CoordinatorSettings { Rounds = 1, MinParticipants = 2, RoundTimeout = TimeSpan.FromMinutes(2), Seed = 7 },
            TinyExperiment.UnequalHospitals(experiment), experiment.InitialGlobal());
        await using var nodes = new LoopbackCluster();
        var (seed, _) = await nodes.StartSeedNode(new ClusterNodeSettings { Roles = [NodeRoles.Coordinator] }, run);
        var system = LoopbackCluster.System(seed);
        var seen = new ConcurrentQueue<LogEvent>();
        var collector = system.ActorOf(Props.Create(() => new Collector(seen)));
        system.EventStream.Subscribe(collector, typeof(Warning));
        var address = Akka.Cluster.Cluster.Get(system).SelfAddress;

        using (var junk = new TcpClient())
        {
            await junk.ConnectAsync(address.Host!, address.Port!.Value);
            await junk.GetStream().WriteAsync(new byte[] { 0x7f, 0xff, 0xff, 0xff, 1, 2, 3, 4 });
            await TestTime.Until(() => Task.FromResult(seen.Any(e => e.Message.ToString()!.StartsWith("Closed a connection that is not this cluster's remoting"))),
                found => found, TimeSpan.FromSeconds(30), "the node's warning about the junk connection");
        }

        var warning = seen.First(e => e.Message.ToString()!.StartsWith("Closed a connection"));
        Assert.Matches("(TooLongFrame|CorruptedFrame)Exception", warning.Message.ToString());
        Assert.DoesNotContain("\n", warning.Message.ToString());
    }
}
