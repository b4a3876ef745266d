using Akka.Actor;
using FedActors.Actors;
using Xunit.Abstractions;

namespace FedActors.Tests.Actors;

public sealed class TrainingThreadsSpecs(ITestOutputHelper output) : ActorSpec(4, output)
{
    /// <summary>Blocks its thread until all four have arrived, as four hospitals holding four device slots train at once.</summary>
    private sealed class Trainer : ReceiveActor
    {
        public Trainer(Barrier together) => Receive<string>(_ => Sender.Tell(together.SignalAndWait(TimeSpan.FromSeconds(20))));
    }

    [Fact]
    public void Should_run_as_many_messages_at_once_as_it_has_threads()
    {
        // Akka's fork-join pool woke about one sleeping thread per core: on two cores two of these waited for the
        // other two, which never finished, so the barrier timed out.
        using var together = new Barrier(4);
        var trainers = Enumerable.Range(0, 4)
            .Select(i => Sys.ActorOf(Props.Create(() => new Trainer(together)).WithDispatcher(Dispatchers.Training), $"trainer-{i}")).ToList();

        // Each trainer has started; let every pool thread go idle and fall asleep, as between rounds.
        foreach (var t in trainers) { t.Tell(new Identify(null)); ExpectMsg<ActorIdentity>(); }
#pragma warning disable RS0030 // TODO(waits): replaced by the waits rework
        Thread.Sleep(TimeSpan.FromSeconds(2));
#pragma warning restore RS0030
        foreach (var t in trainers) t.Tell("train");

        Assert.All(Enumerable.Range(0, 4), _ => Assert.True(ExpectMsg<bool>(TimeSpan.FromSeconds(30)), "a trainer waited for the others in vain"));
    }

    [Fact]
    public void Should_refuse_work_once_shut_down()
    {
        var threads = new TrainingThreads("spec-training", 2);
        Assert.Equal(2, threads.ThreadCount);
        threads.Shutdown();
        Assert.Throws<Akka.Dispatch.RejectedExecutionException>(() => threads.Execute(new Akka.Dispatch.ActionRunnable(() => { })));
    }
}
