using System.Diagnostics;
using System.Text.RegularExpressions;
using FedActors.Host.Configuration;

namespace FedActors.Tests.Cluster;

/// <summary>
/// What cluster-config/kubernetes/ ships, as far as it can be checked without a Kubernetes cluster: the experiment in its
/// ConfigMap loads and discovers through the Kubernetes API with as many workers as the StatefulSet has pods, and the
/// entrypoint gives each pod its roles from its ordinal. (The manifests' schemas: validate/validate.mjs, in .ci/run.)
/// </summary>
public sealed class KubernetesManifestSpecs
{
    private static readonly string Folder = Path.Combine(SharedData.Repository, "cluster-config", "kubernetes");

    /// <summary>The experiment.conf block of experiment.yaml's ConfigMap (a YAML literal block), de-indented.</summary>
    private static string ShippedExperiment()
    {
        var lines = File.ReadAllLines(Path.Combine(Folder, "experiment.yaml"));
        var start = Array.FindIndex(lines, l => l.Trim() == "experiment.conf: |") + 1;
        Assert.True(start > 0, "experiment.yaml has no 'experiment.conf: |' block");
        var block = lines.Skip(start).TakeWhile(l => l.Length == 0 || l.StartsWith("    ", StringComparison.Ordinal)).ToList();
        return string.Join('\n', block.Select(l => l.Length >= 4 ? l[4..] : l));
    }

    [Fact]
    public void Should_ship_an_experiment_that_discovers_through_the_kubernetes_api_and_waits_for_every_pod()
    {
        var file = Path.Combine(Directory.CreateTempSubdirectory("fedactors-k8s-").FullName, "experiment.conf");
        File.WriteAllText(file, ShippedExperiment());
        try
        {
            var config = ExperimentConfig.Load(file, []);
            var replicas = int.Parse(Regex.Match(File.ReadAllText(Path.Combine(Folder, "statefulset.yaml")), @"(?m)^  replicas: (\d+)$").Groups[1].Value);
            var formation = config.Host.Cluster.Formation;
            Assert.Equal(ClusterFormationSettings.KubernetesApi, formation.Discovery);
            Assert.Equal("app=fedactors", formation.LabelSelector); // the StatefulSet's pod label
            Assert.Contains("app: fedactors", File.ReadAllText(Path.Combine(Folder, "statefulset.yaml")));
            Assert.Equal(8558, formation.ManagementPort);
            Assert.Equal(replicas, config.Host.Cluster.MinWorkers); // every pod is a worker
            Assert.Equal("/data/runs", config.Host.RunsDirectory); // the ReadWriteMany volume's mount
        }
        finally
        {
            Directory.Delete(Path.GetDirectoryName(file)!, recursive: true);
        }
    }

    /// <summary>Runs entrypoint.sh with <c>echo</c> as the executable: its output is the command line it would run.</summary>
    private static async Task<(int ExitCode, string Output)> Entrypoint(string podName, string experiment)
    {
        var info = new ProcessStartInfo("sh") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        info.ArgumentList.Add(Path.Combine(Folder, "entrypoint.sh"));
        info.Environment["POD_NAME"] = podName;
        info.Environment["POD_IP"] = "10.1.2.3";
        info.Environment["EXPERIMENT"] = experiment;
        info.Environment["FEDACTORS"] = "echo";
        info.Environment.Remove("RUN_ID");
        using var process = Process.Start(info)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync().Within(TimeSpan.FromSeconds(10), "entrypoint.sh finishing");
        return (process.ExitCode, await output + await error);
    }

    [Theory]
    [InlineData("fedactors-0", "coordinator,worker")]
    [InlineData("fedactors-1", "coordinator,worker")]
    [InlineData("fedactors-2", "worker")]
    [InlineData("fedactors-13", "worker")]
    public async Task Should_give_the_first_two_pods_the_coordinator_role_from_their_ordinal(string pod, string roles)
    {
        var (exitCode, output) = await Entrypoint(pod, Path.Combine(Folder, "experiment.yaml")); // any readable file
        Assert.Equal(0, exitCode);
        Assert.Contains($"node {Path.Combine(Folder, "experiment.yaml")} --roles {roles} --hostname 10.1.2.3 --port 4053 --transfer-port 4054 --name {pod}", output);
        Assert.DoesNotContain("--seed", output);
    }

    [Fact]
    public async Task Should_stop_a_pod_without_an_ordinal_or_an_experiment_naming_the_variable()
    {
        var (noOrdinal, said) = await Entrypoint("fedactors", Path.Combine(Folder, "experiment.yaml"));
        Assert.Equal(2, noOrdinal);
        Assert.Contains("POD_NAME 'fedactors' does not end in -N", said);
        var (noExperiment, saidToo) = await Entrypoint("fedactors-0", "/nonexistent/experiment.conf");
        Assert.Equal(2, noExperiment);
        Assert.Contains("EXPERIMENT '/nonexistent/experiment.conf' is not a readable file", saidToo);
    }
}
