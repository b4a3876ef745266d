namespace FedActors.Host.Runs;

/// <summary>What a coordinator node does after a look at the workers that joined: keep waiting, start, or give up.</summary>
public enum WorkerWaitDecision
{
    /// <summary>Fewer than the wanted workers, and time is left: keep waiting.</summary>
    Wait,

    /// <summary>Every wanted worker joined: start the run.</summary>
    Start,

    /// <summary>The timeout passed with fewer than wanted but at least the floor: start the run with those.</summary>
    StartWithFewer,

    /// <summary>The timeout passed with fewer than the floor: stop with a configuration error.</summary>
    GiveUp,
}

/// <summary>
/// How many workers a coordinator node waits for (<c>fedactors.cluster.min-workers</c>), how long
/// (<c>fedactors.cluster.min-workers-timeout</c>), and the fewest it then starts with (<c>fedactors.cluster.min-workers-floor</c>).
/// </summary>
/// <param name="Wanted">The workers to wait for.</param>
/// <param name="Floor">The fewest workers to start with once <paramref name="Timeout"/> has passed (1 to <paramref name="Wanted"/>).</param>
/// <param name="Timeout">How long to wait for <paramref name="Wanted"/> workers.</param>
public sealed record WorkerQuorum(int Wanted, int Floor, TimeSpan Timeout)
{
    /// <summary>The decision after seeing <paramref name="joined"/> workers, with (<paramref name="timedOut"/>) or without the timeout passed.</summary>
    /// <param name="joined">Worker nodes Up with their hospital shard regions registered.</param>
    /// <param name="timedOut">Whether <see cref="Timeout"/> has passed since the wait began.</param>
    public WorkerWaitDecision Decide(int joined, bool timedOut) =>
        joined >= Wanted ? WorkerWaitDecision.Start
        : !timedOut ? WorkerWaitDecision.Wait
        : joined >= Floor && joined > 0 ? WorkerWaitDecision.StartWithFewer
        : WorkerWaitDecision.GiveUp;

    /// <summary>The line a node prints when it starts with <paramref name="joined"/> workers, fewer than <see cref="Wanted"/>.</summary>
    /// <param name="joined">The workers that joined in time.</param>
    public string FewerMessage(int joined) =>
        $"only {joined} of {Wanted} worker(s) joined within cluster.min-workers-timeout ({Format(Timeout)}); " +
        $"starting with {joined}, at or above cluster.min-workers-floor ({Floor})";

    /// <summary>The error a node stops with when fewer than <see cref="Floor"/> workers joined in time: what joined and which keys to change.</summary>
    /// <param name="joined">The workers that joined in time.</param>
    public string GiveUpMessage(int joined) =>
        $"only {joined} of {Wanted} worker(s) (fedactors.cluster.min-workers) joined within fedactors.cluster.min-workers-timeout ({Format(Timeout)}), " +
        $"fewer than fedactors.cluster.min-workers-floor ({Floor}): check that every worker node started and reaches the seed, " +
        "or lower cluster.min-workers-floor to start with fewer, or raise cluster.min-workers-timeout";

    /// <summary>A duration as HOCON writes it: <c>90s</c>, <c>5m</c>, <c>1h</c> (whole units where it can).</summary>
    /// <param name="t">The duration.</param>
    public static string Format(TimeSpan t) =>
        t.TotalHours >= 1 && t.TotalHours == Math.Floor(t.TotalHours) ? $"{t.TotalHours:0}h"
        : t.TotalMinutes >= 1 && t.TotalMinutes == Math.Floor(t.TotalMinutes) ? $"{t.TotalMinutes:0}m"
        : t.TotalSeconds == Math.Floor(t.TotalSeconds) ? $"{t.TotalSeconds:0}s"
        : $"{t.TotalMilliseconds:0}ms";
}
