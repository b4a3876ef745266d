using System.Globalization;
using Akka.Actor;
using Akka.Event;
using FedActors.Actors.Protocol;
using FedActors.Host.Configuration;

namespace FedActors.Host.Runs;

/// <summary>
/// Writes the global model into the run's <c>checkpoints/</c> after every <c>checkpoints.every</c>-th
/// round and after the last, keeping the newest <c>checkpoints.keep-last</c> (0: all). These are
/// models to evaluate or fine-tune later; what a resumed run continues from is <c>snapshots/</c>.
/// </summary>
public sealed class CheckpointWriter : ReceiveActor
{
    /// <summary>Answered with itself once every checkpoint asked for before it is on disk.</summary>
    public sealed record Flush
    {
        /// <summary>The single instance to send.</summary>
        public static Flush Instance { get; } = new();
    }

    /// <summary>Creates the writer; it checkpoints each <see cref="GlobalAfterRound"/> it receives that <paramref name="settings"/> wants.</summary>
    /// <param name="run">The run directory whose <c>checkpoints/</c> is written.</param>
    /// <param name="settings">Which rounds to checkpoint and how many to keep.</param>
    /// <param name="totalRounds">The run's number of rounds; the last is always checkpointed.</param>
    /// <param name="failed">Told a checkpoint that could not be written for a full disk: the run stops with it (null: logged only).</param>
    public CheckpointWriter(RunDirectory run, CheckpointSettings settings, int totalRounds, Action<Exception>? failed = null)
    {
        var log = Context.GetLogger();
        Receive<GlobalAfterRound>(g =>
        {
            if (!settings.Wants(g.Round, totalRounds)) return;
            try
            {
                run.SaveCheckpoint(g.Round, g.Global, settings.KeepLast);
            }
            catch (IOException e) when (failed is not null && DiskFullException.IsDiskFull(e))
            {
                // The run cannot go on writing its results: stop with one clear error; snapshots/ let it resume once space is freed.
                failed(e);
            }
            catch (IOException e)
            {
                // A full disk must not stop the run: snapshots/ still let it resume.
                log.Error(e, "Checkpoint of round {0} not written to {1}", g.Round, run.CheckpointsPath);
            }
        });
        Receive<Flush>(f => Sender.Tell(f));
    }

    /// <summary>Props of a <see cref="CheckpointWriter"/>; the parameters are the constructor's.</summary>
    /// <param name="run">The run directory whose <c>checkpoints/</c> is written.</param>
    /// <param name="settings">Which rounds to checkpoint and how many to keep.</param>
    /// <param name="totalRounds">The run's number of rounds; the last is always checkpointed.</param>
    /// <param name="failed">Told a checkpoint that could not be written for a full disk (null: logged only).</param>
    public static Props Props(RunDirectory run, CheckpointSettings settings, int totalRounds, Action<Exception>? failed = null) =>
        Akka.Actor.Props.Create(() => new CheckpointWriter(run, settings, totalRounds, failed));

    /// <summary><c>round-0007.weights</c>: sorts by round.</summary>
    public static string FileName(int round) => string.Create(CultureInfo.InvariantCulture, $"round-{round:D4}.weights");
}
