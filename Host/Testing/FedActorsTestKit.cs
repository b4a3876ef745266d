using Akka.Actor;
using Akka.TestKit;
using FedActors.Actors;
using FedActors.Actors.Coordination;
using FedActors.Actors.Protocol;
using FedActors.Actors.Serialization;
using FedActors.Actors.Transfer;
using FedActors.Training.Methods;
using FedActors.Training.Weights;
using Xunit.Abstractions;

namespace FedActors.Testing;

/// <summary>
/// An Akka.NET TestKit (xunit) for tests that drive FedActors' actors directly, below <see cref="Simulation"/>: a
/// <see cref="RoundCoordinator"/> with test probes standing in for hospitals, a hospital actor asked by the test as the
/// coordinator would ask it, a strategy seen from the actors. Its actor system has FedActors' dispatchers and serializer,
/// and <c>serialize-messages = on</c>, so every message is serialised and read back on the way as it would be between
/// nodes; weights travel by reference through an in-memory <see cref="WeightsTransfer"/> (<see cref="Transfer"/>), as in
/// every run. With <c>virtualTime: true</c> the system's scheduler is TestKit's <see cref="TestScheduler"/>
/// (<see cref="Clock"/>): the round's wall-clock timeout and resends fire only when the test advances the clock, so a test
/// of a hospital that never answers takes no time and cannot race. Each test class instance gets its own actor system,
/// shut down when xunit disposes it.
/// </summary>
/// <example>
/// <code>
/// public sealed class TimeoutTests(ITestOutputHelper output) : FedActorsTestKit(output, virtualTime: true)
/// {
///     [Fact]
///     public void Silent_hospital_is_dropped_when_the_round_times_out()
///     {
///         var hospitals = new[] { "a", "b" }.ToDictionary(id => id, _ => CreateTestProbe());
///         var coordinator = Sys.ActorOf(RoundCoordinator.Props(new CoordinatorSettings { Rounds = 1, MinParticipants = 1,
///             RoundTimeout = TimeSpan.FromMinutes(10) }, hospitals.ToDictionary(h => h.Key, h => h.Value.Ref), global, Transfer));
///         var log = StartLoggedRun(coordinator);
///         var request = hospitals["a"].ExpectMsg&lt;TrainRoundByRef&gt;();
///         hospitals["b"].ExpectMsg&lt;TrainRoundByRef&gt;();
///         coordinator.Tell(Update(request, "a", trained, samples: 10));
///         Clock.Advance(TimeSpan.FromMinutes(10));
///         Assert.Equal(["b"], ExpectMsg&lt;RunCompleted&gt;().Rounds[0].Dropped);
///     }
/// }
/// </code>
/// </example>
public abstract class FedActorsTestKit : Akka.TestKit.Xunit2.TestKit
{
    private static readonly TimeSpan TransferWait = TimeSpan.FromSeconds(30);
    private IActorRef? _transfer;

    /// <summary>Starts the test's actor system.</summary>
    /// <param name="output">xunit's output helper, where the actor system logs (null: nowhere).</param>
    /// <param name="virtualTime">Use TestKit's <see cref="TestScheduler"/>: scheduled messages and timers fire only on <see cref="Clock"/>'s <c>Advance</c>.</param>
    /// <param name="extraHocon">More Akka HOCON, which wins over this kit's settings (e.g. <c>akka.test.timefactor = 4</c> on a slow machine).</param>
    /// <param name="trainingThreads">Threads of the dispatcher hospitals train on (FedActors' training dispatcher).</param>
    protected FedActorsTestKit(ITestOutputHelper? output = null, bool virtualTime = false, string extraHocon = "", int trainingThreads = 2)
        : base(Hocon(trainingThreads, virtualTime, extraHocon), output)
    {
    }

    /// <summary>
    /// The actor system's configuration this kit uses: <paramref name="extraHocon"/> first (so it wins), then the virtual
    /// scheduler when asked, <c>serialize-messages = on</c>, FedActors' dispatchers and serializer.
    /// </summary>
    /// <param name="trainingThreads">Threads of the training dispatcher.</param>
    /// <param name="virtualTime">Whether the scheduler is TestKit's <see cref="TestScheduler"/>.</param>
    /// <param name="extraHocon">HOCON that wins over the rest.</param>
    public static string Hocon(int trainingThreads = 2, bool virtualTime = false, string extraHocon = "")
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(trainingThreads, 1);
        var scheduler = virtualTime ? "akka.scheduler.implementation = \"Akka.TestKit.TestScheduler, Akka.TestKit\"" : "";
        return $"""
            {extraHocon}
            {scheduler}
            akka.actor.serialize-messages = on
            {Dispatchers.Hocon(trainingThreads)}
            {FedActorsSerializer.Hocon}
            """;
    }

    /// <summary>The virtual clock of a kit made with <c>virtualTime: true</c>: <c>Clock.Advance(TimeSpan)</c> fires what falls due.</summary>
    /// <exception cref="InvalidOperationException">The kit runs on the real clock.</exception>
    protected TestScheduler Clock => Sys.Scheduler as TestScheduler
        ?? throw new InvalidOperationException("this test kit runs on the real clock; construct it with virtualTime: true for a virtual one");

    /// <summary>This test's weights transfer (memory only, as in <c>fedactors run</c>), started on first use; give it to the coordinator and hospitals.</summary>
    protected IActorRef Transfer => _transfer ??= Sys.ActorOf(WeightsTransfer.Props(), "weights-transfer");

    /// <summary>Offers <paramref name="weights"/> on <see cref="Transfer"/>, as a hospital or the coordinator does, and returns the reference to send.</summary>
    /// <param name="weights">The weights to offer.</param>
    protected WeightsRef Offer(ModelWeights weights)
    {
        var probe = CreateTestProbe();
        Transfer.Tell(new OfferWeights(weights), probe.Ref);
        return probe.ExpectMsg<WeightsRef>(Dilated(TransferWait));
    }

    /// <summary>A round's request as the coordinator sends it to a hospital: <paramref name="global"/> offered on <see cref="Transfer"/>.</summary>
    /// <param name="round">The round, from 1.</param>
    /// <param name="global">The global model the hospital trains from.</param>
    /// <param name="broadcast">What the method sends beside it (null: nothing).</param>
    protected TrainRoundByRef Request(int round, ModelWeights global, MethodPayloads? broadcast = null) => new(round, Offer(global), broadcast);

    /// <summary>
    /// An upload that names a hospital and a round but answers no request: it carries no request token, so a coordinator
    /// ignores it as unbound (counted as unexpected) — a forgery, as a stranger would send it. To answer a request, use
    /// <see cref="Update(TrainRoundByRef, string, ModelWeights, int, double, int, double)"/>.
    /// </summary>
    /// <param name="round">The round it answers.</param>
    /// <param name="hospitalId">The hospital it names.</param>
    /// <param name="weights">Its trained weights.</param>
    /// <param name="samples">The samples it trained on (FedAvg's weight).</param>
    /// <param name="meanLoss">Its mean local loss.</param>
    /// <param name="steps">Its optimiser steps.</param>
    /// <param name="computeSeconds">Its simulated compute time, in seconds.</param>
    protected LocalUpdateByRef Update(int round, string hospitalId, ModelWeights weights, int samples, double meanLoss = 0, int steps = 1, double computeSeconds = 0) =>
        new(round, hospitalId, Offer(weights), samples, meanLoss, steps, computeSeconds);

    /// <summary>
    /// A hospital's answer to <paramref name="request"/> as a hospital sends it to the coordinator: <paramref name="weights"/> offered on
    /// <see cref="Transfer"/>, for the request's round, echoing its token (the coordinator weighs only answers to its own requests).
    /// </summary>
    /// <param name="request">The request the hospital received (e.g. by its test probe).</param>
    /// <param name="hospitalId">The hospital that received it.</param>
    /// <param name="weights">Its trained weights.</param>
    /// <param name="samples">The samples it trained on (FedAvg's weight).</param>
    /// <param name="meanLoss">Its mean local loss.</param>
    /// <param name="steps">Its optimiser steps.</param>
    /// <param name="computeSeconds">Its simulated compute time, in seconds.</param>
    protected LocalUpdateByRef Update(TrainRoundByRef request, string hospitalId, ModelWeights weights, int samples, double meanLoss = 0, int steps = 1,
        double computeSeconds = 0)
    {
        ArgumentNullException.ThrowIfNull(request);
        return Update(request.Round, hospitalId, weights, samples, meanLoss, steps, computeSeconds) with { RequestToken = request.RequestToken };
    }

    /// <summary>An upload with its weights fetched from <see cref="Transfer"/>, as the coordinator resolves it.</summary>
    /// <param name="upload">A hospital's upload.</param>
    protected LocalUpdate Resolve(LocalUpdateByRef upload)
    {
        ArgumentNullException.ThrowIfNull(upload);
        var probe = CreateTestProbe();
        Transfer.Tell(new FetchWeights(upload.Weights), probe.Ref);
        var weights = probe.ExpectMsg<WeightsFetched>(Dilated(TransferWait)).Weights;
        return new LocalUpdate(upload.Round, upload.HospitalId, weights, upload.Samples, upload.MeanLoss, upload.Steps, upload.ComputeSeconds, upload.Extras);
    }

    /// <summary>Expects a hospital's answer at <c>TestActor</c> within <paramref name="timeout"/> and resolves its weights.</summary>
    /// <param name="timeout">How long to wait (real time).</param>
    protected LocalUpdate ExpectUpdate(TimeSpan timeout) => Resolve(ExpectMsg<LocalUpdateByRef>(timeout));

    /// <summary>
    /// Subscribes a new <see cref="RunLog"/> to <paramref name="coordinator"/> and starts its run. <see cref="RunCompleted"/>
    /// comes to <c>TestActor</c> through the log, after every event, so <c>ExpectMsg&lt;RunCompleted&gt;</c> then finds the
    /// whole run in the log.
    /// </summary>
    /// <param name="coordinator">A <see cref="RoundCoordinator"/> not yet started.</param>
    protected RunLog StartLoggedRun(IActorRef coordinator)
    {
        ArgumentNullException.ThrowIfNull(coordinator);
        var log = RunLog.Start(Sys, TestActor);
        coordinator.Tell(new SubscribeToRun(log.Ref));
        coordinator.Tell(StartRun.Instance, ActorRefs.NoSender);
        return log;
    }
}
