using FedActors.Actors.Coordination;
using FedActors.Actors.Protocol;
using FedActors.Actors.Rounds;
using FedActors.Training.Methods;
using FedActors.Training.Randomness;
using FedActors.Training.Weights;

namespace FedActors.Tests.Actors.Rounds;

/// <summary>
/// Drives a <see cref="RoundEngine"/> with simulated hospitals and no actors: every request is answered (in an order
/// drawn from <c>orderSeed</c>) unless the hospital is silent; a silent round ends with the wall-clock timeout;
/// checkpoints are written at once; a scripted coordinator crash starts a fresh engine from the last checkpoint.
/// </summary>
internal sealed class EngineHarness
{
    public const int Length = 3;

    private readonly CoordinatorSettings _settings;
    private readonly IReadOnlyList<string> _hospitals;
    private readonly ISet<string> _silent;
    private readonly ISet<string> _corrupt;
    private readonly SeededRandom _order;
    private readonly bool _checkpoints;

    /// <param name="silent">Hospitals that never answer (a killed process): their rounds wait for the timeout.</param>
    /// <param name="corrupt">Hospitals whose updates hold a NaN: rejected.</param>
    /// <param name="repeatEvery">Answer every n-th request twice (a resent request's reply); 0: never.</param>
    public EngineHarness(CoordinatorSettings settings, int hospitals, ulong orderSeed, ISet<string>? silent = null, ISet<string>? corrupt = null,
        bool checkpoints = true, int repeatEvery = 0)
    {
        _settings = settings;
        _hospitals = Enumerable.Range(1, hospitals).Select(i => $"hospital-{i:D2}").ToList();
        _silent = silent ?? new HashSet<string>();
        _corrupt = corrupt ?? new HashSet<string>();
        _order = new SeededRandom(orderSeed);
        _checkpoints = checkpoints;
        RepeatEvery = repeatEvery;
    }

    public int RepeatEvery { get; }
    /// <summary>How each checkpoint's write ends (default: written).</summary>
    public Func<SaveCheckpoint, CheckpointWritten> WriteCheckpoint { get; init; } = _ => new CheckpointWritten();
    /// <summary>The stall each recovery after a scripted crash reports (what the actor reckons from the snapshot's timestamp).</summary>
    public double StallOnRecovery { get; init; }
    public IReadOnlyList<string> Hospitals => _hospitals;
    public static ModelWeights InitialGlobal { get; } = new([new WeightTensor("w", [Length], new float[Length])]);

    /// <summary>Every decision, in order, across coordinator incarnations.</summary>
    public List<RoundDecision> Decisions { get; } = new();
    public List<RunEvent> Events { get; } = new();
    public List<(RoundSummary Summary, ModelWeights Global)> Closed { get; } = new();
    /// <summary>Every update delivered, by (round, hospital).</summary>
    public Dictionary<(int Round, string HospitalId), UpdateArrived> Sent { get; } = new();
    public RunCompleted? Completed { get; private set; }
    public int Incarnations { get; private set; }

    /// <summary>Hospital <paramref name="id"/>'s update of <paramref name="round"/>: a vector and a sample count drawn from (id, round).</summary>
    public UpdateArrived UpdateOf(string id, int round)
    {
        var rng = SeededRandom.Derive(7, $"{id}/{round}");
        var values = Enumerable.Range(0, Length).Select(_ => (float)rng.Uniform(-1, 1)).ToArray();
        if (_corrupt.Contains(id)) values[1] = float.NaN;
        return new UpdateArrived(round, id, new ModelWeights([new WeightTensor("w", [Length], values)]), 1 + rng.NextInt(50), rng.NextDouble(),
            Steps: 1 + rng.NextInt(20), ComputeSeconds: 0, MethodPayloads.Empty);
    }

    public EngineHarness Run(Func<RoundRules, IRoundStrategy>? strategy = null)
    {
        var settings = strategy is null ? _settings : _settings with { Strategy = strategy };
        var engine = NewEngine(settings);
        CoordinatorSnapshot? checkpoint = null;
        var inbox = new Queue<RoundInput>([new RunStartRequested()]);
        var requests = new List<SendRequest>();
        var timeout = (TimeoutElapsed?)null;
        var answered = 0;
        for (var steps = 0; Completed is null; steps++)
        {
            if (steps > 100_000) throw new InvalidOperationException("the run did not finish");
            RoundInput input;
            if (inbox.Count > 0) input = inbox.Dequeue();
            else if (requests.Count > 0)
            {
                var r = requests[_order.NextInt(requests.Count)];
                requests.Remove(r);
                var update = UpdateOf(r.HospitalId, r.Round) with { RequestToken = r.RequestToken }; // a hospital echoes its request's token
                Sent[(r.Round, r.HospitalId)] = update;
                if (RepeatEvery > 0 && ++answered % RepeatEvery == 0) inbox.Enqueue(update);
                input = update;
            }
            else if (timeout is not null)
            {
                input = timeout;
                timeout = null;
            }
            else throw new InvalidOperationException("the engine waits for nothing that can come");

            foreach (var d in engine.Handle(input))
            {
                Decisions.Add(d);
                switch (d)
                {
                    case SendRequest r when !_silent.Contains(r.HospitalId):
                        if (!requests.Contains(r)) requests.Add(r);
                        break;
                    case ArmTimeout t: timeout = new TimeoutElapsed(t.Round, t.Attempt); break;
                    case DisarmTimeout or StopTimers: timeout = null; break;
                    case PublishEvent e: Events.Add(e.Event); break;
                    case CloseRound c: Closed.Add((c.Summary, c.Global)); break;
                    case SaveCheckpoint s:
                        checkpoint = s.Snapshot;
                        inbox.Enqueue(WriteCheckpoint(s));
                        break;
                    case FinishRun f: Completed = f.Completed; break;
                    case CrashCoordinator:
                        // The actor throws; its successor recovers the last checkpoint and continues. Requests in flight are answered to nobody.
                        engine = NewEngine(settings);
                        requests.Clear();
                        timeout = null;
                        inbox.Clear();
                        if (checkpoint is not null) inbox.Enqueue(new RecoveredFromSnapshot(checkpoint, "harness checkpoint", StallOnRecovery));
                        inbox.Enqueue(new RunStartRequested(AfterCrash: true));
                        break;
                }
                if (d is CrashCoordinator) break;
            }
        }
        return this;
    }

    private RoundEngine NewEngine(CoordinatorSettings settings)
    {
        Incarnations++;
        return new RoundEngine(settings, _hospitals, InitialGlobal, checkpoints: _checkpoints, wallSeconds: () => 0);
    }
}
