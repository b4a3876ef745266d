using FedActors.Host.Benchmarks;
using FedActors.Host.Configuration;

namespace FedActors.Tests.Persistence;

/// <summary><c>fedactors bench store</c>'s two experiments and the command line it records.</summary>
public sealed class StoreBenchmarkSpecs
{
    [Fact]
    public void Should_run_the_same_experiment_on_both_stores_every_hospital_every_round()
    {
        var onFiles = ExperimentConfig.Load(null, StoreBenchmark.Overrides("/tmp/runs", 50, 3, postgresql: false, connection: null));
        var onDatabase = ExperimentConfig.Load(null, StoreBenchmark.Overrides("/tmp/runs", 50, 3, postgresql: true, connection: "Host=/tmp/pg;Username=postgres"));

        Assert.Equal("file", onFiles.Host.Persistence.Store);
        Assert.Equal(new PersistenceSettings("postgresql", "Host=/tmp/pg;Username=postgres"), onDatabase.Host.Persistence);
        Assert.Equal(50, onDatabase.Coordinator.MinParticipants);
        Assert.True(onDatabase.Host.PassivateHospitals);
        // Nothing but the store differs.
        Assert.Equal(onFiles.ResolvedHocon.Replace("store : file", "").Replace("connection-string : \"\"", ""),
            onDatabase.ResolvedHocon.Replace("store : postgresql", "").Replace("connection-string : \"Host=/tmp/pg;Username=postgres\"", ""));
    }

    [Fact]
    public void Should_record_the_command_without_the_connection_string_s_password()
    {
        var args = StoreBenchmark.WithoutPassword(["store", "--hospitals", "1000", "--connection", "Host=db;Username=u;Password=hunter2"]);

        Assert.Equal(["store", "--hospitals", "1000", "--connection", "\"Host=db;Username=u\""], args);
    }
}
