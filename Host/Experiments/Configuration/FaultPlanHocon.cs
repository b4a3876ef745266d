using System.Globalization;
using System.Text;
using FedActors.Actors.Faults;

namespace FedActors.Host.Configuration;

/// <summary>
/// A <see cref="FaultPlan"/> written as the HOCON an experiment file gives it (<c>fedactors.faults</c>): the events list
/// and the random dropout. Reading the text back (<see cref="ExperimentConfig.Load"/>) gives the same plan, so a plan built
/// in code can be saved with a run's <c>resolved.conf</c> and replayed by <c>--resume</c>, or pasted into a config file.
/// </summary>
public static class FaultPlanHocon
{
    /// <summary>
    /// The body of <c>fedactors.faults</c> for <paramref name="plan"/>: <c>dropout { … }</c> and <c>events = [ … ]</c>, each
    /// event on a line of its own, in the plan's order (drops, slowdowns, worker crashes, coordinator crashes, message
    /// faults, corruptions, malicious clients). Numbers are written so that they read back exactly.
    /// </summary>
    /// <param name="plan">The plan to write.</param>
    public static string Render(FaultPlan plan)
    {
        ArgumentNullException.ThrowIfNull(plan);
        var text = new StringBuilder();
        if (plan.Dropout is { } d)
            text.Append(CultureInfo.InvariantCulture, $"dropout {{ probability = {Number(d.Probability)}, stages = [{string.Join(", ", d.Stages.Select(Stage))}] }}\n");
        else text.Append("dropout.probability = 0\n");
        var events = new List<string>();
        events.AddRange(plan.Drops.Select(x => $"{{ kind = drop, hospital = {HoconText.Quote(x.HospitalId)}, round = {x.Round}, stage = {Stage(x.Stage)} }}"));
        events.AddRange(plan.Slowdowns.Select(x => $"{{ kind = slow, hospital = {HoconText.Quote(x.HospitalId)}, round = {x.FromRound}, factor = {Number(x.Factor)} }}"));
        events.AddRange(plan.WorkerCrashes.Select(x => $"{{ kind = crash-worker, node = {HoconText.Quote(x.Node)}, round = {x.Round} }}"));
        events.AddRange(plan.CoordinatorCrashes.Select(x => $"{{ kind = crash-coordinator, round = {x.Round} }}"));
        events.AddRange(plan.Messages.Select(x => x.Lose
            ? $"{{ kind = message, message = {Message(x.Message)}, action = lose, probability = {Number(x.Probability)} }}"
            : $"{{ kind = message, message = {Message(x.Message)}, action = delay, probability = {Number(x.Probability)}, delay = {Number(x.DelaySeconds)} }}"));
        events.AddRange(plan.Corruptions.Select(x => $"{{ kind = corrupt, hospital = {HoconText.Quote(x.HospitalId)}, round = {x.Round}, corruption = {(x.Corruption == Corruption.NaN ? "nan" : "scaled")} }}"));
        events.AddRange(plan.Malicious.Select(x => $"{{ kind = malicious, hospital = {HoconText.Quote(x.HospitalId)}, round = {x.FromRound}, attack = {Attack(x.Kind)}" + x.Kind switch
        {
            MaliceKind.Scaled => $", factor = {Number(x.Parameter)} }}",
            MaliceKind.Noise => $", sigma = {Number(x.Parameter)} }}",
            _ => " }",
        }));
        text.Append(events.Count == 0 ? "events = []\n" : $"events = [\n  {string.Join(",\n  ", events)}\n]\n");
        return text.ToString();
    }

    /// <summary>The config's name of <paramref name="stage"/> (<c>before-training</c>, <c>during-training</c>, <c>after-upload</c>).</summary>
    internal static string Stage(DropoutStage stage) => stage switch
    {
        DropoutStage.BeforeTraining => "before-training",
        DropoutStage.DuringTraining => "during-training",
        DropoutStage.AfterUpload => "after-upload",
        _ => throw new ArgumentOutOfRangeException(nameof(stage), stage, "not a dropout stage"),
    };

    /// <summary>The config's names of the malicious-client attacks.</summary>
    internal static readonly IReadOnlyDictionary<string, MaliceKind> Attacks = new Dictionary<string, MaliceKind>
    {
        ["scaled"] = MaliceKind.Scaled, ["sign-flip"] = MaliceKind.SignFlipped, ["noise"] = MaliceKind.Noise, ["nan"] = MaliceKind.NaN, ["stale-replay"] = MaliceKind.StaleReplay,
    };

    internal static string Attack(MaliceKind kind) => Attacks.First(a => a.Value == kind).Key;

    private static string Message(RoundMessage message) => message == RoundMessage.Request ? "request" : "upload";

    private static string Number(double value) => value.ToString("R", CultureInfo.InvariantCulture);

}
