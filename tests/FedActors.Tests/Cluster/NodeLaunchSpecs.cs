using FedActors.Actors.Cluster;
using FedActors.Actors.Devices;
using FedActors.Host.Configuration;
using FedActors.Host.Runs;

namespace FedActors.Tests.Cluster;

/// <summary>
/// The launch decisions of <c>fedactors node</c> as plain logic: how long a coordinator waits for workers and
/// with how few it starts, how many training threads a node runs, which ports it takes, and the early refusal of
/// a placeholder directory (cluster-config/rehearse-slurm.sh runs them end to end through the Slurm script).
/// </summary>
public sealed class NodeLaunchSpecs
{
    private static readonly WorkerQuorum FourOrThree = new(Wanted: 4, Floor: 3, Timeout: TimeSpan.FromMinutes(10));

    [Theory]
    [InlineData(0, false, WorkerWaitDecision.Wait)]
    [InlineData(3, false, WorkerWaitDecision.Wait)]
    [InlineData(4, false, WorkerWaitDecision.Start)]
    [InlineData(5, false, WorkerWaitDecision.Start)]
    [InlineData(4, true, WorkerWaitDecision.Start)]
    [InlineData(3, true, WorkerWaitDecision.StartWithFewer)]
    [InlineData(2, true, WorkerWaitDecision.GiveUp)]
    [InlineData(0, true, WorkerWaitDecision.GiveUp)]
    public void Should_wait_for_the_wanted_workers_then_start_with_the_floor_or_give_up(int joined, bool timedOut, WorkerWaitDecision expected) =>
        Assert.Equal(expected, FourOrThree.Decide(joined, timedOut));

    [Fact]
    public void Should_never_start_with_no_worker_even_with_a_floor_of_zero_workers() =>
        Assert.Equal(WorkerWaitDecision.GiveUp, new WorkerQuorum(2, 0, TimeSpan.FromSeconds(1)).Decide(0, timedOut: true));

    [Fact]
    public void Should_name_the_keys_and_how_many_joined_when_giving_up()
    {
        var message = FourOrThree.GiveUpMessage(2);
        Assert.Contains("only 2 of 4 worker(s)", message);
        Assert.Contains("fedactors.cluster.min-workers)", message);
        Assert.Contains("fedactors.cluster.min-workers-timeout (10m)", message);
        Assert.Contains("fedactors.cluster.min-workers-floor (3)", message);
        Assert.Contains("starting with 3", FourOrThree.FewerMessage(3));
    }

    [Fact]
    public void Should_wait_five_minutes_and_never_start_short_by_default()
    {
        var cluster = ExperimentConfig.Load(null, ["cluster.min-workers=4"]).Host.Cluster;
        Assert.Equal(new WorkerQuorum(4, 4, TimeSpan.FromMinutes(5)), cluster.Quorum);
        Assert.Equal(TimeSpan.FromMinutes(5), cluster.CoordinatorTimeout);
        Assert.Equal(0, cluster.TransferPort);
    }

    [Fact]
    public void Should_read_the_wait_the_floor_the_coordinator_timeout_and_the_transfer_port()
    {
        var cluster = ExperimentConfig.Load(null, ["cluster.min-workers=4", "cluster.min-workers-timeout=90s", "cluster.min-workers-floor=3",
            "cluster.coordinator-timeout=2m", "cluster.transfer-port=25000"]).Host.Cluster;
        Assert.Equal(new WorkerQuorum(4, 3, TimeSpan.FromSeconds(90)), cluster.Quorum);
        Assert.Equal(TimeSpan.FromMinutes(2), cluster.CoordinatorTimeout);
        Assert.Equal(25000, cluster.TransferPort);
    }

    [Theory]
    [InlineData("cluster.min-workers-floor=3", "fedactors.cluster.min-workers-floor", "between 0 and 2")]
    [InlineData("cluster.min-workers-floor=-1", "fedactors.cluster.min-workers-floor", "between 0 and 2")]
    [InlineData("cluster.min-workers-timeout=0s", "fedactors.cluster.min-workers-timeout", "positive")]
    [InlineData("cluster.coordinator-timeout=soon", "fedactors.cluster.coordinator-timeout", "duration")]
    [InlineData("cluster.transfer-port=70000", "fedactors.cluster.transfer-port", "between 0 and 65535")]
    [InlineData("cluster.transfer-max-connections=0", "fedactors.cluster.transfer-max-connections", "between 1 and 4096")]
    [InlineData("cluster.transfer-read-timeout=0s", "fedactors.cluster.transfer-read-timeout", "positive")]
    [InlineData("cluster.admission-timeout=soon", "fedactors.cluster.admission-timeout", "duration")]
    [InlineData("training-threads=many", "fedactors.training-threads", "auto (one thread per device slot) or an integer")]
    [InlineData("training-threads=0", "fedactors.training-threads", "between 1 and 1024")]
    public void Should_name_the_key_of_a_bad_launch_setting(string setting, string key, string problem)
    {
        var e = Assert.Throws<ConfigError>(() => ExperimentConfig.Load(null, ["cluster.min-workers=2", setting]));
        Assert.Contains(key, e.Message);
        Assert.Contains(problem, e.Message);
    }

    [Fact]
    public void Should_derive_training_threads_from_the_device_leases_unless_set()
    {
        var fourGpusTwoSlots = new DeviceSlotsSettings { Devices = [DeviceSlotsSettings.Auto], SlotsPerDevice = 2 };
        Assert.Equal(8, HostSettings.DeriveTrainingThreads(null, fourGpusTwoSlots, cudaDevices: 4));
        Assert.Equal(2, HostSettings.DeriveTrainingThreads(null, fourGpusTwoSlots, cudaDevices: 0)); // auto without CUDA: the CPU's 2 slots
        Assert.Equal(3, HostSettings.DeriveTrainingThreads(3, fourGpusTwoSlots, cudaDevices: 4));
        Assert.Equal(6, HostSettings.DeriveTrainingThreads(null, new DeviceSlotsSettings { Devices = ["cpu", "cuda:0"], SlotsPerDevice = 3 }, cudaDevices: 1));
    }

    [Fact]
    public void Should_train_on_one_thread_per_slot_by_default_and_on_the_number_set()
    {
        var defaults = ExperimentConfig.Load(null, []).Host;
        Assert.Equal(HostSettings.AutoTrainingThreads, defaults.TrainingThreads);
        Assert.Equal(1, defaults.EffectiveTrainingThreads); // [cpu] x 1 slot
        Assert.Equal(4, ExperimentConfig.Load(null, ["devices.slots-per-device=4"]).Host.EffectiveTrainingThreads);
        Assert.Equal(2, ExperimentConfig.Load(null, ["devices.slots-per-device=4", "training-threads=2"]).Host.EffectiveTrainingThreads);
    }

    [Fact]
    public void Should_train_on_every_gpu_slot_with_the_shipped_gpu_cluster_config()
    {
        var host = ExperimentConfig.Load(Path.Combine(SharedData.Repository, "cluster-config", "gpu-cluster.conf"), []).Host;
        Assert.Equal(HostSettings.AutoTrainingThreads, host.TrainingThreads);
        Assert.Equal(8, HostSettings.DeriveTrainingThreads(null, host.Devices, cudaDevices: 4)); // a node of 4 GPUs x 2 slots
        Assert.Equal(new WorkerQuorum(4, 3, TimeSpan.FromMinutes(10)), host.Cluster.Quorum);
    }

    [Fact]
    public void Should_read_the_security_settings_and_find_the_secret_file_beside_the_config_without_reading_the_secret_into_it()
    {
        var defaults = ExperimentConfig.Load(null, []).Host.Cluster;
        Assert.Null(defaults.SecretFile);
        Assert.Equal(TimeSpan.FromSeconds(20), defaults.AdmissionTimeout);
        Assert.Equal(64, defaults.TransferMaxConnections);
        Assert.Equal(TimeSpan.FromSeconds(10), defaults.TransferReadTimeout);
        var directory = Directory.CreateTempSubdirectory("fedactors-secret-").FullName;
        try
        {
            const string secret = "0123456789abcdef-not-in-resolved-conf";
            File.WriteAllText(Path.Combine(directory, "cluster.secret"), secret);
            var file = Path.Combine(directory, "experiment.conf");
            File.WriteAllText(file, "fedactors.cluster { secret-file = cluster.secret, admission-timeout = 5s, transfer-max-connections = 8, transfer-read-timeout = 2s }");

            var config = ExperimentConfig.Load(file, []);

            Assert.Equal(Path.Combine(directory, "cluster.secret"), config.Host.Cluster.SecretFile);
            Assert.Equal((TimeSpan.FromSeconds(5), 8, TimeSpan.FromSeconds(2)),
                (config.Host.Cluster.AdmissionTimeout, config.Host.Cluster.TransferMaxConnections, config.Host.Cluster.TransferReadTimeout));
            Assert.DoesNotContain(secret, config.ResolvedHocon);
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    [Fact]
    public void Should_refuse_a_cluster_secret_shorter_than_16_characters_without_echoing_it()
    {
        var e = Assert.Throws<ArgumentException>(() => ClusterAdmissionSettings.KeyOf("  hunter2  "));
        Assert.Contains("7 characters: use at least 16", e.Message);
        Assert.DoesNotContain("hunter2", e.Message);
        Assert.Equal(ClusterAdmissionSettings.KeyOf("0123456789abcdef"), ClusterAdmissionSettings.KeyOf(" 0123456789abcdef\n"));
        Assert.NotEqual(ClusterAdmissionSettings.KeyOf("0123456789abcdef"), ClusterAdmissionSettings.KeyOf("0123456789abcdeF"));
    }

    [Fact]
    public void Should_refuse_a_transfer_port_that_is_remotings_port()
    {
        var e = Assert.Throws<ArgumentException>(() => new ClusterNodeSettings { Port = 25000, TransferPort = 25000 }.Validate());
        Assert.Contains("transfer port 25000", e.Message);
        new ClusterNodeSettings { Port = 25000, TransferPort = 25001 }.Validate();
        new ClusterNodeSettings { Port = 25000 }.Validate();
    }

    [Fact]
    public async Task Should_refuse_a_bad_transfer_port_on_the_command_line_as_a_usage_error() =>
        Assert.Equal(FedActors.Host.Program.UsageError,
            await FedActors.Host.Program.Main(["node", "--roles", "worker", "--transfer-port", "70000"]).Within(TimeSpan.FromMinutes(1), "fedactors' answer"));

    [Fact]
    public void Should_name_the_setting_of_a_placeholder_or_uncreatable_directory()
    {
        if (!Directory.Exists("/shared"))
        {
            var placeholder = Assert.Throws<ConfigError>(() => RunDirectory.RequireDirectory("/shared/fedactors/runs", "fedactors.runs-dir"));
            Assert.Contains("fedactors.runs-dir is '/shared/fedactors/runs', a placeholder", placeholder.Message);
            Assert.Contains("Set fedactors.runs-dir", placeholder.Message);
        }
        var file = Path.GetTempFileName();
        try
        {
            // A directory under a file cannot be created, whoever runs the spec.
            var e = Assert.Throws<ConfigError>(() => RunDirectory.RequireDirectory(Path.Combine(file, "runs"), "--snapshots"));
            Assert.Contains("--snapshots is", e.Message);
            Assert.Contains("cannot be created", e.Message);
        }
        finally { File.Delete(file); }
        var fine = Directory.CreateTempSubdirectory("fedactors-require-").FullName;
        try { RunDirectory.RequireDirectory(Path.Combine(fine, "a", "b"), "fedactors.runs-dir"); Assert.True(Directory.Exists(Path.Combine(fine, "a", "b"))); }
        finally { Directory.Delete(fine, recursive: true); }
    }
}
