using FedActors.Host.Configuration;
using FedActors.Training.Methods;
using FedActors.Training.Methods.Fcl;

namespace FedActors.Tests.Host;

public class ExperimentConfigSpecs
{
    [Fact]
    public void Should_read_back_its_own_resolved_config_empty_strings_included()
    {
        // --resume reads resolved.conf: every default (cluster.secret-file = "" among them) must come back as itself.
        var config = ExperimentConfig.Load(null, ["cluster.secret-file=\"\"", "data.hospitals=7"]);
        var file = Path.Combine(Path.GetTempPath(), $"resolved-{Guid.NewGuid():N}.conf");
        try
        {
            File.WriteAllText(file, config.ResolvedHocon);
            var again = ExperimentConfig.Load(file, []);
            Assert.Equal(config.ResolvedHocon, again.ResolvedHocon);
            Assert.Equal(7, again.Experiment.Hospitals);
            Assert.Contains("secret-file : \"\"", again.ResolvedHocon);
        }
        finally { File.Delete(file); }
    }

    [Fact]
    public void Should_load_the_embedded_default_with_eight_hospitals()
    {
        var config = ExperimentConfig.Load(null, []);
        Assert.Equal(8, config.Experiment.Hospitals);
        Assert.Equal("cpu", config.Experiment.Device);
        Assert.True(config.Coordinator.Rounds >= 1);
    }

    [Fact]
    public void Should_apply_set_overrides_over_the_file_over_the_defaults()
    {
        var file = Path.GetTempFileName();
        File.WriteAllText(file, "fedactors { rounds.count = 7, seed = 3 }");
        try
        {
            var config = ExperimentConfig.Load(file, ["seed=11", "fedactors.moco.temperature=0.1"]);
            Assert.Equal(7, config.Coordinator.Rounds);
            Assert.Equal(11UL, config.Experiment.Seed);
            Assert.Equal(11UL, config.Coordinator.Seed);
            Assert.Equal(0.1, config.Experiment.MoCo.Temperature);
            Assert.Contains("temperature : 0.1", config.ResolvedHocon);
        }
        finally { File.Delete(file); }
    }

    [Fact]
    public void Should_name_an_unknown_key_and_its_file()
    {
        var file = Path.GetTempFileName();
        File.WriteAllText(file, "fedactors.moco.temprature = 0.1");
        try
        {
            var e = Assert.Throws<ConfigError>(() => ExperimentConfig.Load(file, []));
            Assert.Contains("fedactors.moco.temprature", e.Message);
            Assert.Contains(file, e.Message);
        }
        finally { File.Delete(file); }
    }

    [Theory]
    [InlineData("rounds.count=zero", "fedactors.rounds.count", "integer")]
    [InlineData("rounds.sample-fraction=1.5", "fedactors.rounds.sample-fraction", "between")]
    [InlineData("rounds.min-participants=9", "fedactors.rounds.min-participants", "only 8 hospitals")]
    [InlineData("model.encoder-widths=[8,8]", "fedactors.model.encoder-widths", "4 positive")]
    [InlineData("devices.list=[gpu0]", "fedactors.devices.list", "gpu0")]
    [InlineData("devices.list=[cpu,cpu]", "fedactors.devices.list", "listed twice")]
    [InlineData("devices.slots-per-device=0", "fedactors.devices.slots-per-device", "between")]
    [InlineData("passivate-hospitals=sometimes", "fedactors.passivate-hospitals", "auto")]
    [InlineData("fedprox.mu=-1", "fedactors.fedprox.mu", "must be between 0 and 1000000, found -1")]
    [InlineData("fedmoco.rsa-mode=sideways", "fedactors.fedmoco.rsa-mode", "must be one of similar, dissimilar")]
    [InlineData("fedmoco.metadata-transfer=maybe", "fedactors.fedmoco.metadata-transfer", "must be one of on, off")]
    [InlineData("moco.head-norm=layer-norm", "fedactors.moco.head-norm", "must be one of batch-norm, none")]
    [InlineData("rounds.aggregation=bulyan", "fedactors.rounds.aggregation", "fedavg, median, trimmed-mean, clipped-mean, krum")]
    [InlineData("rounds.krum-select=0", "fedactors.rounds.krum-select", "between")]
    [InlineData("rounds.dp-noise-multiplier=-1", "fedactors.rounds.dp-noise-multiplier", "between")]
    [InlineData("rounds.dp-delta=1", "fedactors.rounds.dp-delta", "between")]
    [InlineData("rounds.krum-byzantine=-1", "fedactors.rounds.krum-byzantine", "between")]
    [InlineData("rounds.trim-fraction=0.5", "fedactors.rounds.trim-fraction", "between")]
    [InlineData("rounds.clip-factor=0", "fedactors.rounds.clip-factor", "between")]
    [InlineData("rounds.update-norm-bound=sometimes", "fedactors.rounds.update-norm-bound", "off, reject, clip")]
    [InlineData("rounds.update-norm-factor=0.5", "fedactors.rounds.update-norm-factor", "between")]
    [InlineData("faults.events=[{kind=malicious,hospital=hospital-01,round=1,attack=noise,sigma=0}]", "fedactors.faults.events[0].sigma", "between")]
    [InlineData("faults.events=[{kind=malicious,hospital=hospital-01,round=1,attack=scaled,factor=0}]", "fedactors.faults.events[0].factor", "must not be 0")]
    [InlineData("faults.events=[{kind=malicious,hospital=hospital-01,round=1,attack=nan,factor=2}]", "factor", "attack = nan")]
    [InlineData("faults.events=[{kind=malicious,hospital=hospital-01,round=1,attack=boost}]", "fedactors.faults.events[0].attack", "scaled, sign-flip, noise, nan, stale-replay")]
    public void Should_name_the_key_of_a_bad_value(string setting, string key, string problem)
    {
        var e = Assert.Throws<ConfigError>(() => ExperimentConfig.Load(null, [setting]));
        Assert.Contains(key, e.Message);
        Assert.Contains(problem, e.Message);
        Assert.Contains("--set", e.Message);
    }

    [Theory]
    [InlineData("method=fcl", "fedactors.method", "slices of volumes")]
    [InlineData("data.source=synthetic-cardiac", "fedactors.model.encoder", "needs 'unet'")]
    [InlineData("data.source=synthetic-cardiac;model.encoder=unet;data.slice-size=36", "fedactors.data.slice-size", "cannot halve")]
    [InlineData("method=fcl;fcl.negatives=0", "fedactors.fcl.negatives", "between")]
    [InlineData("method=fclopt;data.source=synthetic-cardiac;model.encoder=unet;fclopt.dp=on", "fedactors.fclopt.dp", "built on PTNU")]
    [InlineData("method=fedavg-ce;data.source=synthetic-skin;model.encoder=unet", "fedactors.model.encoder", "small-cnn")]
    [InlineData("fedema.lambda=much", "fedactors.fedema.lambda", "must be a number")]
    [InlineData("method=fedmas;data.source=synthetic-skin", "fedactors.fedmas.auxiliary", "fedactors auxiliary")]
    [InlineData("method=fedmas;data.source=synthetic-skin;fedmas.auxiliary=/no/such/file.weights", "fedactors.fedmas.auxiliary", "does not exist")]
    [InlineData("data.source=synthetic-skin;data.site-sizes=[3,2,1]", "fedactors.data.site-sizes", "3 sizes for 8 hospitals")]
    [InlineData("data.classes=6", "fedactors.data.classes", "4 classes at most")]
    [InlineData("method=fedavg-bsm;data.source=synthetic-cardiac;model.encoder=unet", "fedactors.method", "classification method")]
    [InlineData("rounds.dp-noise-multiplier=1;rounds.aggregation=median", "fedactors.rounds.dp-noise-multiplier", "set fedactors.rounds.aggregation to fedavg")]
    public void Should_name_the_key_a_method_or_data_source_cannot_work_with(string settings, string key, string problem)
    {
        var e = Assert.Throws<ConfigError>(() => ExperimentConfig.Load(null, settings.Split(';')));
        Assert.Contains(key, e.Message);
        Assert.Contains(problem, e.Message);
    }

    [Fact]
    public void Should_read_a_fedmas_experiment_with_its_auxiliary_encoder_by_full_path_and_hash()
    {
        var directory = Directory.CreateTempSubdirectory("fedactors-config-").FullName;
        try
        {
            var encoder = Path.Combine(directory, "aux.weights");
            File.WriteAllText(encoder, "");
            var hash = new string('a', 64);
            var file = Path.Combine(directory, "fedmas.conf");
            File.WriteAllText(file, $"fedactors {{\n  method = fedmas\n  data {{ source = synthetic-skin, classes = 8, hospitals = 6, site-sizes = [9930, 3163, 2691, 1807, 655, 351] }}\n" +
                                    $"  fedmas {{ auxiliary = aux.weights, auxiliary-hash = {hash}, lambda = 2 }}\n  classifier.learning-rate = 1e-3\n}}\n");

            var config = ExperimentConfig.Load(file, []);

            Assert.Equal(encoder, config.Method.Settings.Get(ImbalancedClassificationMethod.Auxiliary));
            Assert.Equal(hash, config.Method.Settings.Get(ImbalancedClassificationMethod.AuxiliaryHash));
            Assert.Equal(2, config.Method.Settings.Get(ImbalancedClassificationMethod.Lambda));
            Assert.Equal(1e-3, config.Method.Settings.Get(ImbalancedClassificationMethod.LearningRate));
            Assert.Equal([9930, 3163, 2691, 1807, 655, 351], config.Experiment.SiteSizes);
            Assert.True(config.Experiment.IsSkewedClassification);
            // The resolved config names the encoder by its full path, so the run directory runs again anywhere.
            Assert.Contains(encoder, config.ResolvedHocon);
            var badHash = Assert.Throws<ConfigError>(() => ExperimentConfig.Load(file, ["fedmas.auxiliary-hash=abc"]));
            Assert.Contains("fedactors.fedmas.auxiliary-hash", badHash.Message);
        }
        finally { Directory.Delete(directory, recursive: true); }
    }

    [Fact]
    public void Should_document_every_method_key_in_the_embedded_default_at_its_declared_default()
    {
        var file = ExperimentConfig.Flatten(ExperimentConfig.EmbeddedDefaultText(), "embedded default");
        var settings = ExperimentConfig.Load(null, []).Method.Settings;

        Assert.All(MethodRegistry.BuiltIn().Keys, key =>
        {
            Assert.True(file.ContainsKey("fedactors." + key.Name), $"cluster-config/single-node.conf does not document {key.Name}");
            Assert.Equal(key.DefaultValue, settings.ValueOf(key));
        });
    }

    [Fact]
    public void Should_read_a_volumetric_fcl_experiment_with_its_options()
    {
        var config = ExperimentConfig.Load(null, ["data.source=synthetic-cardiac", "model.encoder=unet", "method=fcl", "fcl.exchange-size=32", "data.partitions=3"]);

        Assert.True(config.Experiment.IsVolumetric);
        Assert.Equal(3, config.Experiment.Partitions);
        Assert.Equal(32, config.Method.Settings.Get(FclMethod.ExchangeSize));
        Assert.Equal(0.1, config.Method.Settings.Get(FclMethod.Temperature));
    }

    [Fact]
    public void Should_read_the_device_slots_one_cpu_slot_by_default()
    {
        var defaults = ExperimentConfig.Load(null, []).Host.Devices;
        Assert.Equal(["cpu"], defaults.Devices);
        Assert.Equal(1, defaults.SlotsPerDevice);
        Assert.Equal(TimeSpan.FromMinutes(30), defaults.MaxLeaseHold);

        var gpus = ExperimentConfig.Load(null, ["devices.list=[\"cuda:0\", \"cuda:1\"]", "devices.slots-per-device=2", "devices.max-lease-hold=90s"]).Host.Devices;
        Assert.Equal(["cuda:0", "cuda:1"], gpus.Devices);
        Assert.Equal(2, gpus.SlotsPerDevice);
        Assert.Equal(TimeSpan.FromSeconds(90), gpus.MaxLeaseHold);

        Assert.True(ExperimentConfig.Load(null, ["devices.list=auto"]).Host.Devices.IsAuto);
        Assert.True(ExperimentConfig.Load(null, ["devices.list=[auto]"]).Host.Devices.IsAuto);
    }

    /// <summary>An experiment file whose every kind of key sits on a known line.</summary>
    private const string LinedFile = """
        # line 1: a comment
        fedactors {
          seed = 3
          rounds {
            count = COUNT            # line 5
          }
          moco.batch-size = BATCH    # line 7, a dotted key
          faults {
            events = [
              { kind = drop, hospital = hospital-02, round = 1 },
              { kind = drop, hospital = HOSPITAL,
                round = 2 }          # line 12
            ]
          }
          UNKNOWN
        }
        """;

    [Theory]
    [InlineData("zero", "8", "hospital-01", "", 5, "fedactors.rounds.count", "must be an integer")]
    [InlineData("3", "1", "hospital-01", "", 7, "fedactors.moco.batch-size", "between")]
    [InlineData("3", "8", "hospital-99", "", 11, "fedactors.faults.events[1].hospital", "hospital-99")]
    [InlineData("3", "8", "hospital-01", "data { hospital = 4 }", 15, "fedactors.data.hospital", "unknown key")]
    public void Should_name_the_file_and_line_of_a_bad_key(string count, string batch, string hospital, string unknown, int line, string key, string problem)
    {
        var file = Path.GetTempFileName();
        File.WriteAllText(file, LinedFile.Replace("COUNT", count).Replace("BATCH", batch).Replace("HOSPITAL", hospital).Replace("UNKNOWN", unknown));
        try
        {
            var e = Assert.Throws<ConfigError>(() => ExperimentConfig.Load(file, []));
            Assert.Contains($"{file}:{line}:", e.Message);
            Assert.Contains(key, e.Message);
            Assert.Contains(problem, e.Message);
        }
        finally { File.Delete(file); }
    }

    [Theory]
    [InlineData("local-cluster.conf")]
    [InlineData("gpu-cluster.conf")]
    public void Should_accept_the_shipped_cluster_configs(string file)
    {
        var config = ExperimentConfig.Load(Path.Combine(SharedData.Repository, "cluster-config", file), []);
        Assert.True(config.Host.Cluster.MinWorkers >= 2);
    }

    [Theory]
    [InlineData("auto", 100, false)]
    [InlineData("auto", 101, true)]
    [InlineData("on", 2, true)]
    [InlineData("off", 5000, false)]
    public void Should_passivate_hospitals_when_on_or_when_auto_finds_many(string setting, int hospitals, bool passivated)
    {
        var config = ExperimentConfig.Load(null, [$"passivate-hospitals={setting}", $"data.hospitals={hospitals}", "rounds.min-participants=1"]);

        Assert.Equal(passivated, config.Host.PassivateHospitals);
    }

    [Fact]
    public void Should_leave_the_default_few_hospitals_resident() => Assert.False(ExperimentConfig.Load(null, []).Host.PassivateHospitals);
}
