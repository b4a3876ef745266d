using System.Data.Common;
using System.Text;
using Npgsql;

namespace FedActors.Actors.Hospitals;

/// <summary>
/// Which snapshot store hospitals and the coordinator write to: Akka.Persistence's local file store on the run's snapshot
/// directory (<see cref="File"/>, the default), or a PostgreSQL database through Akka.Persistence.Sql
/// (<see cref="PostgreSql"/>), which every node reaches over the network, so a cluster needs no shared filesystem.
/// Each run keeps its snapshots in a table of its own (<see cref="Table"/>), as each run has its own snapshot directory.
/// </summary>
public sealed record SnapshotStoreSettings
{
    /// <summary>The embedded default: the local file store on the snapshot directory.</summary>
    public static SnapshotStoreSettings File { get; } = new();

    /// <summary>The Npgsql connection string, or null for the file store. May hold a password: see <see cref="Describe"/>.</summary>
    public string? ConnectionString { get; private init; }

    /// <summary>The table this run's snapshots go to (PostgreSQL only), created if missing.</summary>
    public string Table { get; private init; } = "";

    /// <summary>Whether snapshots go to PostgreSQL.</summary>
    public bool IsPostgreSql => ConnectionString is not null;

    /// <summary>
    /// Snapshots in PostgreSQL, in the table named after <paramref name="runId"/> (<see cref="TableFor"/>).
    /// </summary>
    /// <param name="connectionString">An Npgsql connection string (<c>Host=...;Database=...;Username=...</c>).</param>
    /// <param name="runId">The run whose state this is: the same id resumes it, another starts afresh.</param>
    /// <exception cref="ArgumentException">The connection string does not parse (the message never repeats it), or names no host.</exception>
    public static SnapshotStoreSettings PostgreSql(string connectionString, string runId)
    {
        var builder = Parse(connectionString);
        if (string.IsNullOrWhiteSpace(builder.Host))
            throw new ArgumentException("names no Host (the database server)", nameof(connectionString));
        return new SnapshotStoreSettings { ConnectionString = connectionString, Table = TableFor(runId) };
    }

    /// <summary>
    /// The table of <paramref name="runId"/>'s snapshots: <c>fedactors_snapshots_</c> and the id in lower case, each character
    /// other than a-z, 0-9 and _ made _, and where that is longer than PostgreSQL's 63-byte names (or made two ids alike)
    /// cut short with a hash of the id.
    /// </summary>
    /// <param name="runId">The run id (a run directory's name, a node's <c>--run-id</c>).</param>
    public static string TableFor(string runId)
    {
        const string prefix = "fedactors_snapshots_";
        var cleaned = new StringBuilder(runId.Length);
        foreach (var c in runId.ToLowerInvariant()) cleaned.Append(c is (>= 'a' and <= 'z') or (>= '0' and <= '9') or '_' ? c : '_');
        var name = prefix + cleaned;
        if (name.Length <= 63 && cleaned.ToString() == runId) return name;
        // Cleaning can make two ids alike ("a-b", "a.b"): a hash of the id itself keeps them apart.
        var hash = Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(Encoding.UTF8.GetBytes(runId)))[..12];
        var room = 63 - prefix.Length - hash.Length - 1;
        return $"{prefix}{(cleaned.Length > room ? cleaned.ToString()[..room] : cleaned.ToString())}_{hash}";
    }

    /// <summary>
    /// Where the snapshots go, for messages and logs: the file store, or <c>PostgreSQL at host:port/database</c>,
    /// never the password.
    /// </summary>
    public string Describe()
    {
        if (ConnectionString is null) return "the local file store";
        var b = Parse(ConnectionString);
        return $"PostgreSQL at {b.Host}:{b.Port}/{b.Database ?? b.Username ?? ""}";
    }

    /// <summary>
    /// <paramref name="connectionString"/> without its password (for <c>resolved.conf</c> and messages); a string that
    /// does not parse is returned as an empty string, so nothing of it is shown.
    /// </summary>
    /// <param name="connectionString">An Npgsql connection string.</param>
    public static string WithoutPassword(string connectionString)
    {
        try
        {
            var b = new NpgsqlConnectionStringBuilder(connectionString);
            b.Remove("Password");
            return b.ConnectionString;
        }
        catch (ArgumentException) { return ""; }
    }

    /// <summary>
    /// Opens one connection and runs <c>SELECT 1</c>, so an unreachable database is one clear error before the run starts,
    /// not a snapshot timeout deep in a round.
    /// </summary>
    /// <param name="timeout">How long to wait for the connection (whole seconds, at least 1).</param>
    /// <exception cref="InvalidOperationException">The database cannot be reached or refuses the login; the message says where (never the password) and why.</exception>
    public void CheckReachable(TimeSpan timeout)
    {
        if (ConnectionString is null) return;
        var builder = Parse(ConnectionString);
        builder.Timeout = Math.Max(1, (int)Math.Ceiling(timeout.TotalSeconds));
        builder.Pooling = false;
        try
        {
            using var connection = new NpgsqlConnection(builder.ConnectionString);
            connection.Open();
            using var command = new NpgsqlCommand("SELECT 1", connection);
            command.ExecuteScalar();
        }
        catch (Exception e) when (e is NpgsqlException or DbException or TimeoutException or System.Net.Sockets.SocketException or IOException)
        {
            throw new InvalidOperationException($"cannot reach {Describe()}: {e.GetBaseException().Message}", e);
        }
    }

    /// <summary>
    /// The <c>akka.persistence</c> HOCON of this store: the in-memory journal (snapshots are all that is kept) and the
    /// snapshot store, on <paramref name="snapshotDirectory"/> for the file store.
    /// </summary>
    /// <param name="snapshotDirectory">The file store's directory (made absolute here); unused for PostgreSQL.</param>
    public string Hocon(string snapshotDirectory) => ConnectionString is null
        ? $$"""
          akka.persistence {
            journal.plugin = "{{HospitalPersistence.JournalPluginId}}"
            snapshot-store.plugin = "akka.persistence.snapshot-store.local"
            snapshot-store.local {
              dir = {{Quote(Path.GetFullPath(snapshotDirectory))}}
              # A ResNet-18 hospital's state (query, key, momentum) is over 100 MB; shared storage can be slow.
              circuit-breaker.call-timeout = 120s
            }
          }
          """
        : $$"""
          akka.persistence {
            journal.plugin = "{{HospitalPersistence.JournalPluginId}}"
            snapshot-store.plugin = "akka.persistence.snapshot-store.sql"
            snapshot-store.sql {
              # The plugin's own defaults are its fallback; the class is named here since its reference config is not loaded.
              class = "Akka.Persistence.Sql.Snapshot.SqlSnapshotStore, Akka.Persistence.Sql"
              plugin-dispatcher = "akka.persistence.dispatchers.default-plugin-dispatcher"
              connection-string = {{Quote(ConnectionString)}}
              # linq2db's PostgreSQL provider, its dialect chosen from the server's version on first connection.
              provider-name = "PostgreSQL"
              table-mapping = default
              default.snapshot.table-name = {{Quote(Table)}}
              # The table is created on first use if missing.
              auto-initialize = on
              # A ResNet-18 hospital's state is over 100 MB; so is a write of it over the network.
              circuit-breaker.call-timeout = 120s
            }
          }
          """;

    private static NpgsqlConnectionStringBuilder Parse(string connectionString)
    {
        try { return new NpgsqlConnectionStringBuilder(connectionString); }
        catch (ArgumentException e)
        {
            // Npgsql's message names the offending keyword, not the value; still, never echo the string itself.
            throw new ArgumentException($"is not an Npgsql connection string ({e.Message})", nameof(connectionString), e);
        }
    }

    private static string Quote(string value) => "\"" + value.Replace("\\", "\\\\").Replace("\"", "\\\"") + "\"";
}
