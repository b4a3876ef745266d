using System.Diagnostics;
using FedActors.Actors.Hospitals;
using Npgsql;

namespace FedActors.Tests.Persistence;

/// <summary>
/// A throwaway PostgreSQL server for the specs: <c>initdb</c> into a temporary directory, <c>pg_ctl start</c> listening on a
/// Unix socket in that directory only (no TCP port to pick or collide on), trust authentication for the superuser
/// <c>postgres</c>; stopped and deleted on dispose. The binaries are taken from PATH or <c>/usr/lib/postgresql/*/bin</c>.
/// PostgreSQL refuses to run as root, so a root process runs <c>initdb</c> and the server as <c>nobody</c> (through
/// <c>runuser</c>). Without PostgreSQL the specs fail, saying how to install it; they never skip.
/// </summary>
public sealed class PostgresServer : IDisposable
{
    private static readonly TimeSpan CommandTimeout = TimeSpan.FromMinutes(2);
    private readonly string _root;
    private readonly string _data;
    private readonly string _binaries;
    private readonly bool _asNobody;
    private int _databases;

    /// <summary>Starts the server; throws, saying how to install PostgreSQL, where its binaries are missing.</summary>
    public PostgresServer()
    {
        _binaries = FindBinaries() ?? throw new InvalidOperationException(
            "PostgreSQL is not installed: these specs start a throwaway server with its initdb and pg_ctl, found on PATH or in " +
            "/usr/lib/postgresql/<version>/bin. Install it with `apt-get install -y postgresql` (Debian/Ubuntu); CI's .ci/run does.");
        _asNobody = Environment.IsPrivilegedProcess;
        _root = Directory.CreateTempSubdirectory("fedactors-pg-").FullName;
        _data = Path.Combine(_root, "data");
        // The server's user (nobody, under root) writes its data directory, socket and log here.
        if (_asNobody && !OperatingSystem.IsWindows()) File.SetUnixFileMode(_root, (UnixFileMode)0x1FF);
        try
        {
            Run("initdb", "-D", _data, "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync");
            Run("pg_ctl", "-D", _data, "-l", Path.Combine(_root, "server.log"), "-w", "-t", "60", "-o",
                $"-c listen_addresses='' -c unix_socket_directories='{_root}' -c fsync=off -c max_connections=300", "start");
        }
        catch
        {
            Delete();
            throw;
        }
    }

    /// <summary>A connection string to a new, empty database of this server (trust authentication, no password).</summary>
    /// <param name="name">Part of the database's name, for reading the server's log.</param>
    public string NewDatabase(string name)
    {
        var database = $"{name.ToLowerInvariant()}_{Interlocked.Increment(ref _databases)}";
        using (var connection = new NpgsqlConnection(ConnectionString("postgres")))
        {
            connection.Open();
            using var create = new NpgsqlCommand($"CREATE DATABASE \"{database}\"", connection);
            create.ExecuteNonQuery();
        }
        return ConnectionString(database);
    }

    /// <summary>How many snapshots of each persistence id <paramref name="table"/> of <paramref name="connectionString"/>'s database holds.</summary>
    public static IReadOnlyDictionary<string, long> SnapshotsPerId(string connectionString, string table)
    {
        using var connection = new NpgsqlConnection(connectionString);
        connection.Open();
        using var query = new NpgsqlCommand($"SELECT persistence_id, count(*) FROM \"{table}\" GROUP BY persistence_id", connection);
        using var reader = query.ExecuteReader();
        var counts = new Dictionary<string, long>();
        while (reader.Read()) counts[reader.GetString(0)] = reader.GetInt64(1);
        return counts;
    }

    /// <summary>A snapshot store in a new database of this server, for run <paramref name="runId"/>.</summary>
    public SnapshotStoreSettings NewStore(string runId) => SnapshotStoreSettings.PostgreSql(NewDatabase(runId.Replace('-', '_')), runId);

    private string ConnectionString(string database) =>
        new NpgsqlConnectionStringBuilder { Host = _root, Username = "postgres", Database = database, Pooling = false }.ConnectionString;

    /// <summary>Stops the server at once and deletes its directory.</summary>
    public void Dispose()
    {
        try { Run("pg_ctl", "-D", _data, "-m", "immediate", "-w", "-t", "60", "stop"); }
        finally { Delete(); }
    }

    private void Delete()
    {
        if (Directory.Exists(_root)) Directory.Delete(_root, recursive: true);
    }

    /// <summary>Runs one of PostgreSQL's programs (as nobody under root); throws with its output if it fails.</summary>
    private void Run(string program, params string[] arguments)
    {
        var start = new ProcessStartInfo(_asNobody ? "runuser" : Path.Combine(_binaries, program))
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = _root,
        };
        if (_asNobody)
            foreach (var a in new[] { "-u", "nobody", "--", Path.Combine(_binaries, program) }) start.ArgumentList.Add(a);
        foreach (var a in arguments) start.ArgumentList.Add(a);
        using var process = Process.Start(start) ?? throw new InvalidOperationException($"could not start {program}");
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(CommandTimeout))
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"{program} did not finish within {CommandTimeout}");
        }
        process.WaitForExit(); // the output's end, now that the process has exited
        if (process.ExitCode != 0)
        {
            var log = Path.Combine(_root, "server.log");
            throw new InvalidOperationException(
                $"{program} {string.Join(' ', arguments)} exited with {process.ExitCode}:\n{Finished(output)}{Finished(error)}" +
                (File.Exists(log) ? $"\nserver log:\n{File.ReadAllText(log)}" : ""));
        }
    }

    private static string Finished(Task<string> text) => text.Wait(TimeSpan.FromSeconds(10)) ?
#pragma warning disable RS0030 // read after a bounded Wait that returned true: it is done
        text.Result
#pragma warning restore RS0030
        : "";

    /// <summary>The directory of initdb and pg_ctl: PATH first, else the newest /usr/lib/postgresql/*/bin; null if none.</summary>
    private static string? FindBinaries()
    {
        foreach (var dir in (Environment.GetEnvironmentVariable("PATH") ?? "").Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries))
            if (File.Exists(Path.Combine(dir, "initdb")) && File.Exists(Path.Combine(dir, "pg_ctl"))) return dir;
        const string debian = "/usr/lib/postgresql";
        if (!Directory.Exists(debian)) return null;
        return Directory.GetDirectories(debian)
            .Select(d => (Version: int.TryParse(Path.GetFileName(d), out var v) ? v : -1, Bin: Path.Combine(d, "bin")))
            .Where(d => File.Exists(Path.Combine(d.Bin, "initdb")) && File.Exists(Path.Combine(d.Bin, "pg_ctl")))
            .OrderByDescending(d => d.Version)
            .Select(d => d.Bin)
            .FirstOrDefault();
    }
}

/// <summary>The specs that share one throwaway PostgreSQL server (<see cref="PostgresServer"/>), one at a time.</summary>
[CollectionDefinition(Name)]
public sealed class PostgresCollection : ICollectionFixture<PostgresServer>
{
    /// <summary>The collection's name, for <c>[Collection(PostgresCollection.Name)]</c>.</summary>
    public const string Name = "PostgreSQL";
}
