using System.Diagnostics;
using System.Globalization;
using FedActors.Host.Configuration;
using FedActors.Training.Experiments;

namespace FedActors.Host.Commands;

/// <summary>
/// <c>fedactors auxiliary [experiment.conf] --out FILE [--epochs N] [--set key=value ...]</c>: Fed-MAS's frozen
/// auxiliary encoder. No public MoCo v2 checkpoint can be downloaded here, so it is pre-trained with the project's
/// own MoCo v2 (the experiment's moco settings and network) on the experiment's pooled training images, which no
/// test split and no validation hold-out contains, and saved as a weights file whose content hash the experiment
/// then names (fedmas.auxiliary, fedmas.auxiliary-hash).
/// </summary>
public static class AuxiliaryCommand
{
    /// <summary>The auxiliary command's own options (the experiment file and <c>--set</c> are parsed by the caller).</summary>
    /// <param name="Out">The weights file the pre-trained encoder is written to (<c>--out</c>); its folder is created if missing.</param>
    /// <param name="Epochs">Passes of MoCo v2 training over the pooled training images (<c>--epochs</c>, default 20, at least 1).</param>
    public sealed record Options(string Out, int Epochs);

    /// <summary>Takes --out and --epochs out of <paramref name="args"/>, leaving the experiment file and --set for the caller.</summary>
    public static Options Parse(List<string> args)
    {
        string? output = null;
        var epochs = 20;
        for (var i = 0; i < args.Count; i++)
        {
            if (args[i] is not ("--out" or "--epochs")) continue;
            if (i + 1 >= args.Count) throw new ArgumentException($"{args[i]} needs a value.");
            if (args[i] == "--out") output = args[i + 1];
            else if (!int.TryParse(args[i + 1], NumberStyles.Integer, CultureInfo.InvariantCulture, out epochs) || epochs < 1)
                throw new ArgumentException($"--epochs expects a positive whole number, found '{args[i + 1]}'.");
            args.RemoveRange(i, 2);
            i--;
        }
        return new Options(output ?? throw new ArgumentException("auxiliary needs --out FILE, where the encoder is written."), epochs);
    }

    /// <summary>
    /// Pre-trains the auxiliary encoder with MoCo v2 on the experiment's pooled training images, saves it to
    /// <see cref="Options.Out"/>, prints the linear-probe balanced accuracy of it and of a random encoder, then the
    /// <c>fedactors.fedmas.auxiliary</c> and <c>fedactors.fedmas.auxiliary-hash</c> lines for the experiment file.
    /// </summary>
    /// <param name="config">The experiment whose data, network and MoCo settings are used (its method is ignored).</param>
    /// <param name="options">Where to write the encoder and how many epochs to train.</param>
    /// <param name="output">Where progress and the configuration lines are written.</param>
    /// <returns><see cref="Program.Ok"/>.</returns>
    public static int Execute(ExperimentConfig config, Options options, TextWriter output)
    {
        var wall = Stopwatch.StartNew();
        Training.TorchRuntime.ConfigureThreads(config.Host.TorchThreads);
        var experiment = new FederatedExperiment(config.Experiment);
        var pool = experiment.Sites.PooledTrain();
        output.WriteLine($"auxiliary encoder: MoCo v2 on {pool.Count} training images ({experiment.Sites.Description}), {options.Epochs} epoch(s) of {config.Experiment.MoCo.LocalEpochs}, seed {config.Experiment.Seed}");
        using var learner = experiment.CreateLearner("auxiliary");
        for (var epoch = 1; epoch <= options.Epochs; epoch++)
        {
            var result = learner.Train(pool);
            output.WriteLine(FormattableString.Invariant($"epoch {epoch}/{options.Epochs}  loss {result.MeanLoss:F4}"));
        }
        var weights = learner.ExportWeights();
        var directory = Path.GetDirectoryName(Path.GetFullPath(options.Out));
        if (directory is not null) Directory.CreateDirectory(directory);
        weights.Save(options.Out);
        var probe = experiment.Probe(weights).BalancedAccuracy;
        var random = experiment.Probe(experiment.InitialGlobal()).BalancedAccuracy;
        output.WriteLine(FormattableString.Invariant($"linear probe balanced accuracy: auxiliary encoder {probe:F3}, random encoder {random:F3}"));
        output.WriteLine(FormattableString.Invariant($"wrote {options.Out} in {wall.Elapsed.TotalSeconds:F0} s; for the experiment:"));
        output.WriteLine($"fedactors.fedmas.auxiliary = \"{Path.GetFullPath(options.Out)}\"");
        output.WriteLine($"fedactors.fedmas.auxiliary-hash = {weights.ContentHash}");
        return Program.Ok;
    }
}
