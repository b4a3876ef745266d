using Akka.Actor;

namespace FedActors.Tests;

/// <summary>
/// How long specs wait, and how they fail when something does not come. Every wait of a spec has a
/// bound that fails the spec with a message naming what was awaited; no spec sleeps to let time pass.
/// </summary>
public static class TestTime
{
    /// <summary>
    /// Scales every TestKit default (<c>akka.test.timefactor</c>: ExpectMsg, AwaitAssert, … without a duration)
    /// and every bound given through <see cref="Dilated"/>. The 3 s default assumes a machine to itself; the suite
    /// runs two test collections at once (xunit.runner.json) with libtorch's threads beside them, on two cores that
    /// other CPU-heavy work may share: each thread then gets a quarter of a core or less, so a step can take four
    /// times as long. 5 covers that with a margin; it lengthens only a wait that is failing, never one that succeeds.
    /// </summary>
    public const double Factor = 5;

    /// <summary>TestKit settings every spec's ActorSystem gets (see <c>ActorSpec</c>).</summary>
    public static string AkkaTestHocon => $"""
        akka.test.timefactor = {Factor}
        akka.test.single-expect-default = 3s
        """;

    /// <summary><paramref name="bound"/> scaled by <see cref="Factor"/>, as TestKit's <c>Dilated</c> does.</summary>
    public static TimeSpan Dilated(TimeSpan bound) => TimeSpan.FromTicks((long)(bound.Ticks * Factor));

    /// <summary>Awaits <paramref name="task"/> for at most <paramref name="bound"/> (dilated); past it, fails naming <paramref name="what"/>.</summary>
    public static async Task<T> Within<T>(this Task<T> task, TimeSpan bound, string what)
    {
        try { return await task.WaitAsync(Dilated(bound)); }
        catch (TimeoutException e) { throw new TimeoutException($"{what}: not done within {Dilated(bound)}", e); }
    }

    /// <inheritdoc cref="Within{T}(Task{T}, TimeSpan, string)"/>
    public static async Task Within(this Task task, TimeSpan bound, string what)
    {
        try { await task.WaitAsync(Dilated(bound)); }
        catch (TimeoutException e) { throw new TimeoutException($"{what}: not done within {Dilated(bound)}", e); }
    }

    /// <summary>Asks <paramref name="actor"/>, waiting at most <paramref name="bound"/> (dilated) for the answer; past it, fails naming <paramref name="what"/>.</summary>
    public static async Task<T> AskWithin<T>(this ICanTell actor, object message, TimeSpan bound, string what)
    {
        try { return await actor.Ask<T>(message, Dilated(bound)); }
        catch (AskTimeoutException e) { throw new TimeoutException($"{what}: no answer within {Dilated(bound)}", e); }
    }

    /// <summary>
    /// Polls <paramref name="probe"/> until <paramref name="done"/> holds of its value, for at most <paramref name="bound"/>
    /// (dilated); returns that value, or fails naming <paramref name="what"/> and the last value seen. Only for a state
    /// that announces no event of its own (a shard's entities, a snapshot's round on another node).
    /// </summary>
    public static async Task<T> Until<T>(Func<Task<T>> probe, Func<T, bool> done, TimeSpan bound, string what, TimeSpan? interval = null)
    {
        var limit = Dilated(bound);
        var clock = System.Diagnostics.Stopwatch.StartNew();
        while (true)
        {
            var value = await probe();
            if (done(value)) return value;
            if (clock.Elapsed > limit) throw new TimeoutException($"{what}: not the case within {limit} (last seen: {Describe(value)})");
#pragma warning disable RS0030 // the one bounded poll (like TestKit's AwaitCondition): the pause between looks, not the synchronisation
            await Task.Delay(interval ?? TimeSpan.FromMilliseconds(100));
#pragma warning restore RS0030
        }
    }

    private static string Describe<T>(T value) => value switch
    {
        null => "null",
        System.Collections.IEnumerable e and not string => $"[{string.Join(", ", e.Cast<object?>())}]",
        _ => value.ToString() ?? "",
    };
}
