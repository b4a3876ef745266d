using FedActors.Actors.Protocol;
using TorchSharp.Modules;
using static TorchSharp.torch.utils;

namespace FedActors.Host.Runs;

/// <summary>
/// The run's figures as TensorBoard scalars (<c>tensorboard --logdir RUN_DIR/tensorboard</c>), one
/// point per closed round, written through TorchSharp's SummaryWriter as rounds close.
/// </summary>
/// <param name="directory">The log directory; the event file is created there on the first <see cref="Write"/>.</param>
public sealed class TensorBoardLog(string directory)
{
    /// <summary>The run directory's subdirectory TensorBoard logs go to.</summary>
    public const string Directory = "tensorboard";

    private SummaryWriter? _writer;

    /// <summary>The tags a round writes; evaluation figures add <c>eval/NAME</c> when the round was evaluated.</summary>
    public static readonly string[] RoundTags =
        ["round/mean_loss", "round/aggregated", "round/not_aggregated", "traffic/bytes_up", "traffic/bytes_down", "time/sim_seconds", "time/wall_seconds"];

    /// <summary>Writes the round's figures (<see cref="RoundTags"/> and its evaluation) at step <see cref="RoundSummary.Round"/>; non-finite values are skipped.</summary>
    /// <param name="s">The closed round.</param>
    public void Write(RoundSummary s)
    {
        _writer ??= tensorboard.SummaryWriter(directory);
        // TensorBoard's wall time is seconds since the Unix epoch.
        var now = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        double[] values = [s.MeanLoss, s.Aggregated.Count, s.NotAggregated.Count, s.BytesUp, s.BytesDown, s.SimulatedSeconds, s.WallSeconds];
        for (var i = 0; i < RoundTags.Length; i++)
            if (double.IsFinite(values[i])) _writer.add_scalar(RoundTags[i], (float)values[i], s.Round, now);
        foreach (var (name, value) in s.Evaluation.OrderBy(e => e.Key, StringComparer.Ordinal))
            if (double.IsFinite(value)) _writer.add_scalar($"eval/{name}", (float)value, s.Round, now);
    }
}
