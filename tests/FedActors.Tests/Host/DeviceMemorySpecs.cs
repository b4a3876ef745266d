using FedActors.Host.Configuration;
using FedActors.Host.Runs;
using FedActors.Training;
using FedActors.Training.Data;

namespace FedActors.Tests.Host;

public sealed class DeviceMemorySpecs
{
    private static ImageShard Shard(int channels, int size) =>
        new(channels, size, size, new byte[2 * channels * size * size], [0, 1]);

    [Fact]
    public void Should_estimate_four_copies_of_the_model_and_a_batch_of_activations()
    {
        // 4 × 1,000 B + 16 images × 3 × 8 × 8 values × 4 B × 64 = 4,000 + 786,432.
        Assert.Equal(790_432, TrainingMemory.Estimate(1_000, 16, 3, 8, 8));
    }

    [Fact]
    public void Should_ask_for_nothing_without_a_budget_and_for_the_estimate_or_the_declared_figure_with_one()
    {
        var shard = Shard(1, 32);
        Assert.Equal(0, PreparedRun.DeviceMemory(ExperimentConfig.Load(null, []), 1 << 20, "hospital-01", shard));

        var budgeted = ExperimentConfig.Load(null, ["devices.memory-budget-mb=100", "moco.batch-size=8"]);
        Assert.Equal(TrainingMemory.Estimate(1 << 20, 8, 1, 32, 32), PreparedRun.DeviceMemory(budgeted, 1 << 20, "hospital-01", shard));

        var declared = ExperimentConfig.Load(null, ["devices.memory-budget-mb=100", "devices.hospital-memory-mb=40"]);
        Assert.Equal(40L << 20, PreparedRun.DeviceMemory(declared, 1 << 20, "hospital-01", shard));
    }

    [Fact]
    public void Should_refuse_before_the_run_a_hospital_no_device_can_hold()
    {
        var config = ExperimentConfig.Load(null, ["devices.memory-budget-mb=1", "moco.batch-size=64"]);

        var e = Assert.Throws<ConfigError>(() => PreparedRun.DeviceMemory(config, 2 << 20, "hospital-07", Shard(3, 64)));

        Assert.Contains("hospital-07 needs", e.Message);
        Assert.Contains("fedactors.devices.memory-budget-mb = 1", e.Message);
        Assert.Contains("batches of 64 images of 3×64×64", e.Message);
    }
}
