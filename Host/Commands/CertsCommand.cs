using FedActors.Actors.Cluster;
using FedActors.Host.Configuration;

namespace FedActors.Host.Commands;

/// <summary>
/// <c>fedactors certs DIR [--nodes N] [--first K] [--days D] [--name CLUSTER]</c>: a self-signed certificate set for a
/// cluster's mutual TLS (<see cref="ClusterCertificates"/>): the CA (<c>ca.crt</c>, its key <c>ca.key</c>) and node
/// certificates <c>node-01.pfx</c> ... signed by it. A DIR that already has a CA gets more nodes signed by that CA.
/// </summary>
internal static class CertsCommand
{
    /// <summary>The parsed arguments.</summary>
    /// <param name="Directory">Where the files go.</param>
    /// <param name="Nodes">How many node certificates (default 3).</param>
    /// <param name="First">The first node's number (default 1).</param>
    /// <param name="Days">Validity in days (default 365).</param>
    /// <param name="Name">The cluster's name in the certificates' subjects (default fedactors).</param>
    public sealed record Options(string Directory, int Nodes = 3, int First = 1, int Days = 365, string Name = "fedactors");

    /// <summary>Parses the arguments; anything malformed is an <see cref="ArgumentException"/> naming the option.</summary>
    public static Options Parse(IReadOnlyList<string> args)
    {
        string? directory = null;
        var options = new Options("");
        for (var i = 0; i < args.Count; i++)
        {
            string Value() => i + 1 < args.Count ? args[++i] : throw new ArgumentException($"{args[i]} needs a value.");
            int Number(string option) => int.TryParse(Value(), out var n) ? n : throw new ArgumentException($"{option} needs a whole number, found '{args[i]}'.");
            switch (args[i])
            {
                case "--nodes": options = options with { Nodes = Number("--nodes") }; break;
                case "--first": options = options with { First = Number("--first") }; break;
                case "--days": options = options with { Days = Number("--days") }; break;
                case "--name": options = options with { Name = Value() }; break;
                default:
                    if (args[i].StartsWith('-')) throw new ArgumentException($"unknown option '{args[i]}' for certs.");
                    if (directory is not null) throw new ArgumentException($"certs takes one directory, found a second: '{args[i]}'.");
                    directory = args[i];
                    break;
            }
        }
        return options with { Directory = directory ?? throw new ArgumentException("certs needs the directory to write to (e.g. fedactors certs ~/.fedactors-tls).") };
    }

    /// <summary>Writes the set and says what each file is for; an existing file is never overwritten.</summary>
    /// <returns><see cref="Program.Ok"/>.</returns>
    /// <exception cref="ConfigError">A value is out of range, a file exists or cannot be written; the message names it.</exception>
    public static int Execute(Options options, TextWriter output)
    {
        var password = Environment.GetEnvironmentVariable(NodeCommand.TlsPasswordVariable);
        IReadOnlyList<string> written;
        try
        {
            written = ClusterCertificates.Create(options.Directory, options.First, options.Nodes, TimeSpan.FromDays(options.Days), options.Name,
                string.IsNullOrEmpty(password) ? null : password, DateTimeOffset.UtcNow);
        }
        catch (Exception e) when (e is ArgumentException or IOException or UnauthorizedAccessException)
        {
            throw new ConfigError($"certs {options.Directory}: {e.Message}");
        }
        foreach (var file in written) output.WriteLine($"wrote {file}");
        var authority = Path.GetFullPath(Path.Combine(options.Directory, ClusterCertificates.AuthorityFile));
        output.WriteLine($"""
            every node: fedactors.cluster.tls-authority = "{authority}"
            node k:     fedactors.cluster.tls-certificate = "<its node-kk.pfx>" (one per node, readable by the run's user only)
            keep {ClusterCertificates.AuthorityKeyFile} off the nodes: it only signs more nodes (fedactors certs {options.Directory} --first {options.First + options.Nodes})
            """);
        return Program.Ok;
    }
}
