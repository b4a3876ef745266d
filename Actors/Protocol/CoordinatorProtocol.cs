using Akka.Actor;
using FedActors.Training.Weights;

namespace FedActors.Actors.Protocol;

/// <summary>Starts the configured rounds; <see cref="RunCompleted"/> goes to the sender and the listener.</summary>
public sealed record StartRun : IFedActorsMessage
{
    public static StartRun Instance { get; } = new();
}

/// <summary>What happened in one round, as recorded in metrics.</summary>
public sealed record RoundSummary(
    int Round,
    IReadOnlyList<string> Selected,
    IReadOnlyList<string> Aggregated,
    IReadOnlyList<string> Dropped,
    double MeanLoss,
    long BytesDown,
    long BytesUp,
    double WallSeconds,
    int LateReplies,
    int RejectedReplies,
    bool Skipped,
    string GlobalHash,
    IReadOnlyDictionary<string, double> Evaluation);

/// <summary>Published to the run listener each time a round closes.</summary>
public sealed record RoundClosed(RoundSummary Summary) : IFedActorsMessage;

/// <summary>The run's outcome: the final global model and every round's summary.</summary>
public sealed record RunCompleted(ModelWeights FinalGlobal, IReadOnlyList<RoundSummary> Rounds) : IFedActorsMessage;

/// <summary>Registers the actor that receives <see cref="RoundClosed"/> and <see cref="RunCompleted"/>.</summary>
public sealed record SubscribeToRun(IActorRef Listener) : IFedActorsMessage;
