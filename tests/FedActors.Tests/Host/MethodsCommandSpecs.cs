using FedActors.Host.Commands;
using FedActors.Tests.Methods;
using FedActors.Training.Methods;

namespace FedActors.Tests.Host;

/// <summary><c>fedactors methods</c> lists every registered method, its keys with type, default and range, and what it supports.</summary>
public sealed class MethodsCommandSpecs
{
    [Fact]
    public void Should_list_every_registered_method_with_its_keys_and_evaluations()
    {
        var methods = MethodRegistry.BuiltIn().Register(VectorMeanMethod.Registration);
        var output = new StringWriter();

        Assert.Equal(0, MethodsCommand.Execute(methods, output));

        var lines = output.ToString().Split('\n', StringSplitOptions.TrimEntries);
        Assert.All(methods.Names, name => Assert.Contains(lines, l => l.StartsWith(name + ": ", StringComparison.Ordinal)));
        Assert.Equal(17, methods.Names.Count);
        Assert.Contains("fedprox.mu (number, default 0.01, 0 to 1000000): local loss + mu/2 * ||params - global||^2; keep moco.learning-rate * mu below 2, or the proximal step diverges", lines);
        Assert.Contains("fedmoco.rsa-mode (choice, default similar, similar | dissimilar): weigh by rho, or by 1 - rho (ablation)", lines);
        Assert.Contains("spec-vector-mean.step (number, default 1, 0 to 1): how far a client moves the global towards its shard's mean image", lines);
        Assert.Contains("data: volumes (slices tagged with their partition); judged by: linear probe, fine-tune, segmentation fine-tune", lines);
        Assert.Contains("data: labelled 2D images (classification), model.encoder = small-cnn; judged by: linear probe, fine-tune, global classifier", lines);
        Assert.Contains("data: images or volumes; judged by: nothing (no encoder to judge)", lines);
    }
}
