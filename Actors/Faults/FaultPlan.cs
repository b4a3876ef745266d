namespace FedActors.Actors.Faults;

/// <summary>
/// Injected client failures. For now: hospitals that receive a round's request and
/// never answer (crashed before training). An empty round set means every round.
/// </summary>
public sealed class FaultPlan
{
    private readonly Dictionary<string, IReadOnlySet<int>> _silent = new();

    public static FaultPlan None { get; } = new();

    public FaultPlan NeverAnswer(string hospitalId, params int[] rounds)
    {
        _silent[hospitalId] = rounds.ToHashSet();
        return this;
    }

    public bool IsSilent(string hospitalId, int round) =>
        _silent.TryGetValue(hospitalId, out var rounds) && (rounds.Count == 0 || rounds.Contains(round));

    public IReadOnlyDictionary<string, IReadOnlySet<int>> SilentHospitals => _silent;
}
