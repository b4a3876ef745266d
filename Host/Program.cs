using FedActors.Host.Commands;
using FedActors.Host.Configuration;
using FedActors.Host.Runs;

namespace FedActors.Host;

/// <summary>
/// The <c>fedactors</c> command line: dispatches to the commands (run, validate, methods, node, report, runs, auxiliary,
/// version, bench) and maps their outcome to a process exit code.
/// </summary>
public static class Program
{
    /// <summary>Exit code 0: the command succeeded.</summary>
    public const int Ok = 0;

    /// <summary>Exit code 1: the run (or command) failed with an unexpected exception.</summary>
    public const int RunFailed = 1;

    /// <summary>Exit code 2: bad arguments or an invalid configuration; nothing was run.</summary>
    public const int UsageError = 2;

    /// <summary>
    /// Exit code 130: the command was stopped by Ctrl+C or SIGTERM (a run stops after its last completed round's
    /// checkpoint and can be continued with <c>run --resume</c>).
    /// </summary>
    public const int Interrupted = 130; // the shell's convention for a process stopped by SIGINT

    /// <summary>
    /// Exit code 143: the command was stopped by SIGTERM (Slurm, systemd, <c>timeout</c>); a run stops as after Ctrl+C,
    /// and a second SIGTERM ends the process at once.
    /// </summary>
    public const int Terminated = 143; // 128 + SIGTERM's 15

    /// <summary>Each command's usage, in the order the overview lists them; <c>fedactors COMMAND --help</c> prints one.</summary>
    private static readonly (string Command, string Text)[] Commands =
    [
        ("run", """
          run [experiment.conf] [--set key=value ...]
              Run a federated experiment in this process. With no file, runs the embedded
              default (cluster-config/single-node.conf). --set overrides one key (the leading
              'fedactors.' may be omitted), e.g. --set rounds.count=3 --set seed=7.
              Writes <runs-dir>/<timestamp>/: resolved.conf, metrics.csv, traffic.csv,
              aggregation.csv, events.jsonl, final-global.weights, checkpoints/ (global models),
              evaluation.csv (if asked for), snapshots/ (hospitals' state, the coordinator's round
              checkpoints), plots/, tensorboard/, and report.html (the run on one self-contained page).
              Ctrl+C (or SIGTERM) stops after the last completed round's checkpoint (exit 130;
              143 for SIGTERM), or at once during setup; a second Ctrl+C (SIGTERM) stops at once.
              A run that fails keeps its directory, with failed.txt (the error, the exit code), once a
              round is on file; before that it leaves nothing.

          run --resume RUN_DIR
              Continue an interrupted run from its last completed round, with RUN_DIR's own
              resolved.conf and snapshots/ (no experiment file or --set allowed).
              The result is the same as had the run never stopped.
        """),
        ("validate", """
          validate [experiment.conf] [--set key=value ...]
              Check a configuration (keys, types, ranges) and open every hospital's data (format,
              shape, labels), printing the table it would train on: hospital, source, images,
              shape, classes with the images of each. Runs nothing.
        """),
        ("methods", """
          methods
              List the methods `method = ...` may name: what each needs (data, encoder), how it is
              judged, and its keys with type, default and allowed values.
        """),
        ("node", """
          node [experiment.conf] --roles worker|coordinator[,worker] [--seed ADDRESS ...] [--port N]
               [--transfer-port N] [--hostname H] [--name NAME] [--run-id ID] [--snapshots DIR] [--set key=value ...]
              Join (or, without --seed, form) a cluster. All nodes must use the same experiment.
              --name names a worker for the fault plan (faults.events: kind = crash-worker).
              A coordinator node waits for cluster.min-workers workers (at most
              cluster.min-workers-timeout, then starts with at least cluster.min-workers-floor or
              exits 2), runs the rounds and writes the run directory <runs-dir>/<run id>; workers
              host hospitals until the run ends (a worker exits 2 if no coordinator appears within
              cluster.coordinator-timeout). More coordinator nodes stand by and take the run over
              if that node dies. --port: remoting (0: a free one; a node without --seed needs a
              fixed one); --transfer-port: the weights transfer's bulk channel (default
              cluster.transfer-port, 0: a free one).
              --run-id names the run (default: a hash of the experiment): the same id continues it.
              --snapshots DIR: where every node keeps hospital snapshots and round checkpoints
              (default <runs-dir>/<run id>/snapshots; shared storage across machines).
              Addresses look like akka.tcp://fedactors@127.0.0.1:4053.
              Without seeds: cluster.discovery = kubernetes-api | config finds the nodes through
              Akka.Management's bootstrap (cluster.management-port on --hostname; see README, Kubernetes).
        """),
        ("certs", """
          certs DIR [--nodes N] [--first K] [--days D] [--name CLUSTER]
              Make a self-signed certificate set for the cluster's mutual TLS: DIR/ca.crt (every
              node's cluster.tls-authority), DIR/ca.key (keep it off the nodes) and N node
              certificates DIR/node-01.pfx ... (default 3; each node's cluster.tls-certificate),
              valid D days (default 365), ECDSA P-256, key files readable by their owner only.
              A DIR with a CA gets more nodes signed by it (--first K numbers them from K); no
              file is overwritten. FEDACTORS_TLS_PASSWORD, if set, protects the .pfx files.
        """),
        ("report", """
          report RUN_DIR... [--out FILE] [--title T] [--metric accuracy|balanced_accuracy|COLUMN] [--notes FILE]
                 [--plateau-epsilon E] [--plateau-rounds K] [--html]
              A markdown table comparing runs (--html: also OUT.html, one self-contained page): runs whose configs differ only in the seed form one
              variant; each figure is mean ± std over seeds, n = 1 marked and without ± (evaluation.csv's
              label-efficiency figures where the runs have them, else the last evaluated round of
              metrics.csv), with MB up/down per round and mean seconds per round (--metric a,b: a table
              per figure; default: accuracy, else probe_accuracy, else mean_loss, whichever the runs
              have; a figure they lack is an error listing theirs); then --notes FILE (hand-written
              findings), every run, and the configuration the runs share. Unfinished and failed runs
              are named and left out. --out: default report.md in the directory holding the runs.
              Runs judged by their global classifier also get each run's training length against
              the plateau rule (validation balanced accuracy not beating its best by more than E,
              default 0.01, for K rounds, default 5) and Welch's t-test of the first variant against
              each other; runs whose aggregation.csv has robust_factor get it and the weights per
              round, with a plot (OUT-robust-factor.png).
        """),
        ("runs", """
          runs [--runs-dir DIR]
              List the run directories under DIR (default: runs-dir of the embedded default, runs):
              status (completed, failed, interrupted-resumable, no-checkpoint), method, seed, rounds
              done/planned, final figure, and a failed run's error or how to resume.
        """),
        ("auxiliary", """
          auxiliary [experiment.conf] --out FILE [--epochs N] [--source S] [--source-images N] [--set key=value ...]
              Pre-train Fed-MAS's frozen auxiliary encoder: MoCo v2 (the experiment's moco
              settings and network), N calls (default 20), on the images --source names:
              synthetic-skin (default: a synthetic lesion archive of --source-images images,
              default 2000, drawn from its own seed stream), an image folder of another origin
              (labels.csv + images/), or pooled-train (the hospitals' own training images: not
              independent). Refuses a prior holding any hospital's train, validation or test image
              (SHA-256 of pixels; ids for an image folder). Writes FILE, FILE.source.json (what it
              was trained on) and prints the fedmas.auxiliary and fedmas.auxiliary-hash lines.
        """),
        ("version", """
          version (or --version)
              Print the version of fedactors (from git: the package version) and the commit it was built from.
        """),
        ("bench", """
          bench [encoders|engine|aggregation|scale|leases|transport|placement|store] [--threads N] [--out docs/benchmarks.md]
              Measure and print one line per figure; record them in docs/benchmarks.md.
              encoders: --batch 16,32; engine: --hospitals N --rounds N --images N; aggregation: --uploads N;
              scale: --rounds N --drift-rounds N; transport: --payload-mb N;
              leases: --slots 1,2,4 --jobs N --steps N --training-threads N (default: as many as slots;
              intra-op threads 1 unless --threads); placement: --rounds N --images N;
              store: the file snapshot store against PostgreSQL, --hospitals N --rounds N --connection CS.
        """),
    ];

    private const string ExitCodes = "exit codes: 0 ok, 1 run failed (or disk full), 2 usage, configuration or data error, 130 interrupted (Ctrl+C), 143 terminated (SIGTERM)";

    private static string Usage =>
        "usage: fedactors <command> [options]    (fedactors <command> --help: that command alone)\n\ncommands:\n" +
        string.Join("\n", Commands.Select(c => c.Text.TrimEnd())) + "\n\n" + ExitCodes;

    /// <summary>
    /// <c>fedactors 0.1.0-alpha.0.12 (commit 7363802…)</c>: the version MinVer gave the build (the tool package's
    /// version) and the commit SourceLink recorded after the '+' of the informational version.
    /// </summary>
    public static string VersionLine
    {
        get
        {
            var informational = typeof(Program).Assembly
                .GetCustomAttributes(typeof(System.Reflection.AssemblyInformationalVersionAttribute), false)
                .OfType<System.Reflection.AssemblyInformationalVersionAttribute>().FirstOrDefault()?.InformationalVersion
                ?? typeof(Program).Assembly.GetName().Version?.ToString() ?? "unknown";
            var plus = informational.IndexOf('+');
            var version = plus < 0 ? informational : informational[..plus];
            // MinVer's own build metadata (none by default) and the commit are both after the '+': the commit is the last part.
            var commit = plus < 0 ? "unknown" : informational[(plus + 1)..].Split('.').Last();
            return $"fedactors {version} (commit {commit})";
        }
    }

    /// <summary>One command's usage, or null if there is no such command.</summary>
    public static string? UsageOf(string command) =>
        Commands.Where(c => c.Command == command).Select(c => $"usage: fedactors {command} ...\n{c.Text.TrimEnd()}\n\n{ExitCodes}").FirstOrDefault();

    /// <summary>
    /// Runs the command named by <paramref name="args"/>[0] with the remaining arguments, writing to the console.
    /// </summary>
    /// <param name="args">The command line, command first; none, <c>-h</c>, <c>--help</c> or <c>help</c> prints the usage.</param>
    /// <returns><see cref="Ok"/>, <see cref="RunFailed"/>, <see cref="UsageError"/>, <see cref="Interrupted"/> or <see cref="Terminated"/>.</returns>
    public static async Task<int> Main(string[] args)
    {
        if (args.Length == 0 || args[0] is "-h" or "--help" or "help")
        {
            var topic = args.Length > 1 ? UsageOf(args[1]) : null;
            Console.WriteLine(topic ?? Usage);
            return args.Length == 0 ? UsageError : Ok;
        }
        if (args[0] is "--version" or "version")
        {
            Console.WriteLine(VersionLine);
            return Ok;
        }
        if (args.Skip(1).Any(a => a is "-h" or "--help") && UsageOf(args[0]) is { } help)
        {
            Console.WriteLine(help);
            return Ok;
        }
        try
        {
            switch (args[0])
            {
                case "run":
                    var (file, overrides, resume) = ParseRunArguments(args.Skip(1).ToList(), allowResume: true);
                    using (var stop = new StopSignals())
                    {
                        try
                        {
                            if (resume is not null) await RunCommand.ResumeAsync(resume, Console.Out, stop.Token);
                            else await RunCommand.ExecuteAsync(ExperimentConfig.Load(file, overrides), Console.Out, stop.Token);
                        }
                        catch (RunInterrupted e)
                        {
                            Console.Out.WriteLine(e.Message);
                            return stop.ExitCode;
                        }
                    }
                    return Ok;
                case "validate":
                    var (toCheck, checkOverrides, _) = ParseRunArguments(args.Skip(1).ToList(), allowResume: false);
                    var checkedConfig = ExperimentConfig.Load(toCheck, checkOverrides);
                    var dataTable = ValidateCommand.DataTable(checkedConfig); // opens every hospital's shard: a data error exits 2 here
                    Console.WriteLine($"{toCheck ?? "embedded default"}: valid ({checkedConfig.Experiment.Hospitals} hospitals, " +
                                      $"{checkedConfig.Coordinator.Rounds} rounds, seed {checkedConfig.Experiment.Seed}, method {checkedConfig.Method.Name})");
                    Console.WriteLine(dataTable);
                    // Valid for a cluster, refused by a single process: say so now rather than at `run`.
                    try { checkedConfig.CheckSingleProcess(); }
                    catch (ConfigError e) { Console.WriteLine($"note: for fedactors node only: {e.Message}"); }
                    return Ok;
                case "methods":
                    return MethodsCommand.Execute(FedActors.Training.Methods.MethodRegistry.Default, Console.Out);
                case "node":
                    NodeCommand.Options nodeOptions;
                    try { nodeOptions = NodeCommand.Parse(args.Skip(1).ToList()); }
                    catch (ArgumentException e) { throw new UsageException(e.Message); }
                    using (var stop = new StopSignals())
                        return await NodeCommand.ExecuteAsync(nodeOptions, Console.Out, stop.Token);
                case "certs":
                    try { return CertsCommand.Execute(CertsCommand.Parse(args.Skip(1).ToList()), Console.Out); }
                    catch (ArgumentException e) { throw new UsageException(e.Message); }
                case "report":
                    ReportCommand.Options reportOptions;
                    try { reportOptions = ReportCommand.Parse(args.Skip(1).ToList()); }
                    catch (ArgumentException e) { throw new UsageException(e.Message); }
                    return ReportCommand.Execute(reportOptions, args, Console.Out);
                case "runs":
                    string? runsDir;
                    try { runsDir = RunsCommand.Parse(args.Skip(1).ToList()); }
                    catch (ArgumentException e) { throw new UsageException(e.Message); }
                    return RunsCommand.Execute(runsDir, Console.Out);
                case "auxiliary":
                    var auxiliaryArgs = args.Skip(1).ToList();
                    AuxiliaryCommand.Options auxiliaryOptions;
                    try { auxiliaryOptions = AuxiliaryCommand.Parse(auxiliaryArgs); }
                    catch (ArgumentException e) { throw new UsageException(e.Message); }
                    var (auxiliaryFile, auxiliaryOverrides, _) = ParseRunArguments(auxiliaryArgs, allowResume: false);
                    // The experiment's data and network, trained by MoCo v2 whatever method the file names (fedmas would need this very encoder).
                    return AuxiliaryCommand.Execute(ExperimentConfig.Load(auxiliaryFile, [.. auxiliaryOverrides, $"method={FedActors.Training.Methods.FedMoCo.FedMoCoPlainMethod.MethodName}"]),
                        auxiliaryOptions, Console.Out);
                case "bench":
                    try { return BenchCommand.Execute(args.Skip(1).ToList(), Console.Out); }
                    catch (ArgumentException e) { throw new UsageException(e.Message); }
                    catch (FormatException e) { throw new UsageException(e.Message); }
                default:
                    Console.Error.WriteLine($"fedactors: unknown command '{args[0]}'.\n\n{Usage}");
                    return UsageError;
            }
        }
        catch (RunInterrupted e)
        {
            Console.Out.WriteLine(e.Message);
            return Interrupted;
        }
        catch (ConfigError e)
        {
            Console.Error.WriteLine(RunFailure.Describe(e).Message);
            return UsageError;
        }
        catch (UsageException e)
        {
            Console.Error.WriteLine($"fedactors: {e.Message}\n\n{Usage}");
            return UsageError;
        }
        catch (FedActors.Training.Data.DataFormatException e)
        {
            // The user's data, not our code: the message names the file, the field and the problem; a trace would only bury it.
            Console.Error.WriteLine(RunFailure.Describe(e).Message);
            return UsageError;
        }
        catch (Exception e)
        {
            // A full disk is one line naming the file (exit 1, resumable once space is freed); anything else comes with its trace.
            var (message, code) = RunFailure.Describe(e);
            Console.Error.WriteLine(message);
            return code;
        }
    }

    /// <summary>
    /// The first Ctrl+C or SIGTERM cancels the command instead of killing the process, so a run stops at its last
    /// checkpoint (or at once, in setup) and a node leaves the cluster cleanly; a second one of either kills as usual.
    /// <see cref="ExitCode"/> says which stopped it: <see cref="Interrupted"/> (Ctrl+C) or <see cref="Terminated"/> (SIGTERM).
    /// </summary>
    private sealed class StopSignals : IDisposable
    {
        private readonly CancellationTokenSource _cancel = new();
        private readonly System.Runtime.InteropServices.PosixSignalRegistration _terminate;

        public StopSignals()
        {
            Console.CancelKeyPress += OnCtrlC;
            _terminate = System.Runtime.InteropServices.PosixSignalRegistration.Create(System.Runtime.InteropServices.PosixSignal.SIGTERM, context =>
            {
                if (_cancel.IsCancellationRequested) return; // the second: the default action, the process ends now
                context.Cancel = true;
                Stop(Terminated, "SIGTERM");
            });
        }

        public CancellationToken Token => _cancel.Token;

        public int ExitCode { get; private set; } = Interrupted;

        private void OnCtrlC(object? sender, ConsoleCancelEventArgs e)
        {
            if (_cancel.IsCancellationRequested) return;
            e.Cancel = true;
            Stop(Interrupted, "Ctrl+C");
        }

        private void Stop(int exitCode, string signal)
        {
            ExitCode = exitCode;
            Console.Error.WriteLine($"fedactors: stopping ({signal} again to stop at once)");
            _cancel.Cancel();
        }

        public void Dispose()
        {
            Console.CancelKeyPress -= OnCtrlC;
            _terminate.Dispose();
            _cancel.Dispose();
        }
    }

    private sealed class UsageException(string message) : Exception(message);

    private static (string? File, List<string> Overrides, string? Resume) ParseRunArguments(IReadOnlyList<string> args, bool allowResume)
    {
        string? file = null;
        string? resume = null;
        var overrides = new List<string>();
        for (var i = 0; i < args.Count; i++)
        {
            if (args[i] == "--set")
            {
                if (i + 1 >= args.Count) throw new UsageException("--set needs key=value.");
                overrides.Add(args[++i]);
            }
            else if (args[i].StartsWith("--set=", StringComparison.Ordinal)) overrides.Add(args[i]["--set=".Length..]);
            else if (args[i] == "--resume" && allowResume)
            {
                if (i + 1 >= args.Count) throw new UsageException("--resume needs a run directory.");
                if (resume is not null) throw new UsageException("--resume is given twice.");
                resume = args[++i];
            }
            else if (args[i].StartsWith('-')) throw new UsageException($"unknown option '{args[i]}' for run.");
            else if (file is null) file = args[i];
            else throw new UsageException($"run takes one experiment file, found a second: '{args[i]}'.");
        }
        if (resume is not null && (file is not null || overrides.Count > 0))
            throw new UsageException($"--resume {resume} runs with that directory's own resolved.conf; it cannot be combined with " +
                                     (file is not null ? $"an experiment file ('{file}')" : $"--set ({overrides[0]})") + ".");
        return (file, overrides, resume);
    }
}
