using FedActors.Actors.Hospitals;
using FedActors.Host.Configuration;
using FedActors.Host.Runs;

namespace FedActors.Tests.Persistence;

/// <summary><c>fedactors.persistence.store</c> and <c>connection-string</c>: defaults, precedence, checks and what is never shown.</summary>
public sealed class PersistenceConfigSpecs
{
    private const string WithPassword = "\"Host=db.example;Port=5433;Database=fed;Username=fed;Password=hunter2\"";
    private static string? NoEnvironment(string _) => null;

    [Fact]
    public void Should_default_to_the_file_store_on_the_snapshot_directory()
    {
        var config = ExperimentConfig.Load(null, []);

        Assert.Equal(new PersistenceSettings("file", null), config.Host.Persistence);
        var store = config.Host.Persistence.SnapshotStore("run-1", NoEnvironment);
        Assert.Same(SnapshotStoreSettings.File, store);
        var hocon = HospitalPersistence.StoreHocon("/tmp/run-1/snapshots", store);
        Assert.Contains("snapshot-store.plugin = \"akka.persistence.snapshot-store.local\"", hocon);
        Assert.Contains("dir = \"/tmp/run-1/snapshots\"", hocon);
    }

    [Fact]
    public void Should_put_snapshots_in_the_run_s_postgresql_table_with_postgresql()
    {
        var config = ExperimentConfig.Load(null, ["persistence.store=postgresql", "persistence.connection-string=\"Host=db;Username=fed\""]);

        var store = config.Host.Persistence.SnapshotStore("job_42", NoEnvironment);

        Assert.True(store.IsPostgreSql);
        Assert.Equal("Host=db;Username=fed", store.ConnectionString);
        Assert.Equal("fedactors_snapshots_job_42", store.Table);
        var hocon = HospitalPersistence.StoreHocon("/unused", store);
        Assert.Contains("snapshot-store.plugin = \"akka.persistence.snapshot-store.sql\"", hocon);
        Assert.Contains("connection-string = \"Host=db;Username=fed\"", hocon);
        Assert.Contains("default.snapshot.table-name = \"fedactors_snapshots_job_42\"", hocon);
        Assert.Contains("journal.plugin = \"akka.persistence.journal.inmem\"", hocon);
        Assert.DoesNotContain("/unused", hocon);
    }

    [Fact]
    public void Should_take_the_environment_s_connection_string_over_the_config_s()
    {
        var config = ExperimentConfig.Load(null, ["persistence.store=postgresql", "persistence.connection-string=\"Host=from-config\""]);

        var store = config.Host.Persistence.SnapshotStore("r", v => v == PersistenceSettings.ConnectionVariable ? "Host=from-env;Password=x" : null);

        Assert.Equal("Host=from-env;Password=x", store.ConnectionString);
        Assert.Equal("PostgreSQL at from-env:5432/", store.Describe());
    }

    [Fact]
    public void Should_refuse_postgresql_without_any_connection_string_naming_the_key_and_the_variable()
    {
        var config = ExperimentConfig.Load(null, ["persistence.store=postgresql"]);

        var e = Assert.Throws<ConfigError>(() => config.Host.Persistence.SnapshotStore("r", NoEnvironment));

        Assert.Contains("fedactors.persistence.connection-string", e.Message);
        Assert.Contains("FEDACTORS_PERSISTENCE_CONNECTION", e.Message);
    }

    [Theory]
    [InlineData("persistence.store=mysql", "fedactors.persistence.store")]
    [InlineData("persistence.connection-string=\"Host=db\"", "fedactors.persistence.connection-string")]
    public void Should_refuse_a_bad_setting_naming_its_key(string setting, string key)
    {
        var e = Assert.Throws<ConfigError>(() => ExperimentConfig.Load(null, [setting]));

        Assert.Contains(key, e.Message);
    }

    [Fact]
    public void Should_refuse_a_connection_string_that_does_not_parse_without_showing_its_password()
    {
        var e = Assert.Throws<ConfigError>(() => ExperimentConfig.Load(null,
            ["persistence.store=postgresql", "persistence.connection-string=\"Host=db;Password=hunter2;Colour=blue\""]));

        Assert.Contains("fedactors.persistence.connection-string", e.Message);
        Assert.Contains("not an Npgsql connection string", e.Message);
        Assert.DoesNotContain("hunter2", e.Message);
    }

    [Theory]
    [InlineData(WithPassword)]
    [InlineData("\"Host=db.example;Port=5433;Database=fed;Username=fed;PWD=hunter2\"")] // Npgsql's synonym
    public void Should_keep_the_password_out_of_the_resolved_config(string connectionString)
    {
        var config = ExperimentConfig.Load(null, ["persistence.store=postgresql", $"persistence.connection-string={connectionString}"]);

        Assert.DoesNotContain("hunter2", config.ResolvedHocon);
        Assert.Contains("Host=db.example;Port=5433;Database=fed;Username=fed", config.ResolvedHocon);
        // The run itself still connects with it.
        Assert.Contains("hunter2", config.Host.Persistence.SnapshotStore("r", NoEnvironment).ConnectionString);
        Assert.Equal("PostgreSQL at db.example:5433/fed", config.Host.Persistence.SnapshotStore("r", NoEnvironment).Describe());
    }

    [Fact]
    public void Should_stop_setup_with_one_error_naming_the_key_and_host_when_the_database_cannot_be_reached()
    {
        // Port 1 on loopback: nothing listens there, so the connection is refused at once.
        var config = ExperimentConfig.Load(null,
            ["persistence.store=postgresql", "persistence.connection-string=\"Host=127.0.0.1;Port=1;Username=fed;Password=hunter2\""]);
        var snapshots = Path.Combine(Path.GetTempPath(), "fedactors-unreached", "snapshots");

        var e = Assert.Throws<ConfigError>(() => PreparedRun.Prepare(config, snapshots, runId: "unreached"));

        Assert.Contains("fedactors.persistence.connection-string", e.Message);
        Assert.Contains("cannot reach PostgreSQL at 127.0.0.1:1/", e.Message);
        Assert.DoesNotContain("hunter2", e.Message);
        Assert.False(Directory.Exists(snapshots));
    }

    [Fact]
    public void Should_name_each_run_s_table_apart_within_postgresql_s_63_bytes()
    {
        Assert.Equal("fedactors_snapshots_job_42", SnapshotStoreSettings.TableFor("job_42"));
        // Ids that clean to the same text keep apart by a hash of the id.
        var dashed = SnapshotStoreSettings.TableFor("20261208-0100");
        var dotted = SnapshotStoreSettings.TableFor("20261208.0100");
        Assert.StartsWith("fedactors_snapshots_20261208_0100_", dashed);
        Assert.StartsWith("fedactors_snapshots_20261208_0100_", dotted);
        Assert.NotEqual(dashed, dotted);
        Assert.Equal(dashed, SnapshotStoreSettings.TableFor("20261208-0100"));
        var longId = SnapshotStoreSettings.TableFor(new string('a', 200));
        Assert.True(longId.Length <= 63, longId);
        Assert.Matches("^[a-z0-9_]+$", longId);
    }
}
