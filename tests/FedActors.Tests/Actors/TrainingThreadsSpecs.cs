using System.Collections.Concurrent;
using Akka.Actor;
using FedActors.Actors;
using Xunit.Abstractions;

namespace FedActors.Tests.Actors;

public sealed class TrainingThreadsSpecs(ITestOutputHelper output) : ActorSpec(4, output)
{
    private static readonly TimeSpan Together = TimeSpan.FromSeconds(20);

    /// <summary>Blocks its thread until all four have arrived, as four hospitals holding four device slots train at once; answers which thread it ran on.</summary>
    private sealed class Trainer : ReceiveActor
    {
        public Trainer(Barrier together, TimeSpan bound) =>
            Receive<string>(_ => Sender.Tell(together.SignalAndWait(bound) ? Thread.CurrentThread.Name : "the others never came"));
    }

    [Fact]
    public void Should_run_as_many_messages_at_once_as_it_has_threads()
    {
        // Akka's fork-join pool woke about one sleeping thread per core: on two cores two of these waited for the
        // other two, which never finished, so the barrier timed out.
        using var together = new Barrier(4);
        var trainers = Enumerable.Range(0, 4)
            .Select(i => Sys.ActorOf(Props.Create(() => new Trainer(together, Dilated(Together))).WithDispatcher(Dispatchers.Training), $"trainer-{i}")).ToList();
        foreach (var t in trainers) { t.Tell(new Identify(null)); ExpectMsg<ActorIdentity>(); }

        foreach (var t in trainers) t.Tell("train");

        var ranOn = Enumerable.Range(0, 4).Select(_ => ExpectMsg<string>(Dilated(Together + TimeSpan.FromSeconds(10)))).ToList();
        Assert.DoesNotContain("the others never came", ranOn);
        Assert.Equal(4, ranOn.Distinct().Count()); // four training threads at once
    }

    [Fact]
    public void Should_wake_every_idle_thread_for_work_handed_to_all_of_them_at_once()
    {
        var threads = new TrainingThreads("spec-idle", 4);
        try
        {
            // Every thread waiting for work, as between rounds: the case a pool that wakes one thread per core gets wrong.
            AwaitCondition(() => threads.IdleThreads == 4);
            using var together = new Barrier(4);
            var ranOn = new ConcurrentQueue<string>();
            using var done = new CountdownEvent(4);
            for (var i = 0; i < 4; i++)
                threads.Execute(new Akka.Dispatch.ActionRunnable(() =>
                {
                    ranOn.Enqueue(together.SignalAndWait(Dilated(Together)) ? Thread.CurrentThread.Name! : "the others never came");
                    done.Signal();
                }));

            Assert.True(done.Wait(Dilated(Together + TimeSpan.FromSeconds(10))), "the four pieces of work did not all finish");
            Assert.DoesNotContain("the others never came", ranOn);
            Assert.Equal(4, ranOn.Distinct().Count());
            Assert.All(ranOn, name => Assert.StartsWith("spec-idle-", name));
        }
        finally
        {
            threads.Shutdown();
        }
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
