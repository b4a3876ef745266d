using FedActors.Actors.Rounds;

namespace FedActors.Tests.Actors.Rounds;

/// <summary>
/// An example strategy that is not built in: each round asks the hospitals that have failed least so far
/// (dropped, lost, late or rejected), breaking ties by a seeded draw, and otherwise behaves as FedAvg.
/// </summary>
/// <remarks>
/// What a strategy of your own needs: derive from <see cref="FedAvgStrategy"/> (or implement
/// <see cref="IRoundStrategy"/>), draw only from <see cref="ClientSelection.Random"/>, and read the past from
/// <see cref="ClientSelection.Clients"/> rather than keeping it yourself, so a coordinator restarted from its
/// checkpoint chooses exactly as the one that crashed. Plug it in with
/// <c>new CoordinatorSettings { Strategy = rules => new PreferReliableHospitals(rules) }</c>.
/// </remarks>
public sealed class PreferReliableHospitals(RoundRules rules) : FedAvgStrategy(rules)
{
    /// <inheritdoc />
    public override IReadOnlyList<string> SelectClients(ClientSelection selection)
    {
        var tieBreak = selection.Random.Permutation(selection.Available.Count);
        return selection.Available
            .Select((id, i) => (Id: id, Failed: selection.Clients[id].Failed, TieBreak: tieBreak[i]))
            .OrderBy(c => c.Failed).ThenBy(c => c.TieBreak)
            .Take(selection.Count).Select(c => c.Id).ToList();
    }
}
