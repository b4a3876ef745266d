using FedActors.Training;
using FedActors.Training.Models;
using FedActors.Training.Weights;

namespace FedActors.Tests.Training;

public class ModelWeightsSpecs
{
    [Fact]
    public void Should_round_trip_a_module_through_bytes_and_back()
    {
        using var source = TorchRuntime.Seeded(1, () => ProjectedEncoder.SmallCnn([8, 8, 16, 16], 16));
        using var target = TorchRuntime.Seeded(2, () => ProjectedEncoder.SmallCnn([8, 8, 16, 16], 16));
        var weights = ModelWeights.FromModule(source);
        Assert.NotEqual(weights.ContentHash, ModelWeights.FromModule(target).ContentHash);

        using var buffer = new MemoryStream();
        weights.WriteTo(buffer);
        buffer.Position = 0;
        var read = ModelWeights.ReadFrom(buffer, "test buffer");
        read.LoadInto(target);

        Assert.Equal(weights.ContentHash, ModelWeights.FromModule(target).ContentHash);
    }

    [Fact]
    public void Should_reject_a_corrupted_payload_by_its_hash()
    {
        var weights = new ModelWeights([new WeightTensor("w", [3], [1, 2, 3])]);
        using var buffer = new MemoryStream();
        weights.WriteTo(buffer);
        var bytes = buffer.ToArray();
        bytes[^70] ^= 0x40; // a byte inside the float payload
        var e = Assert.Throws<InvalidDataException>(() => ModelWeights.ReadFrom(new MemoryStream(bytes), "upload.bin"));
        Assert.Contains("upload.bin", e.Message);
    }

    [Fact]
    public void Should_take_the_stored_hash_unchecked_only_when_told_to_trust_it()
    {
        var weights = new ModelWeights([new WeightTensor("w", [3], [1, 2, 3])]);
        using var buffer = new MemoryStream();
        weights.WriteTo(buffer);
        var bytes = buffer.ToArray();
        bytes[^70] ^= 0x40;

        // Trust is for bytes a checksum already proved (the side channel): nothing is recomputed.
        var trusted = ModelWeights.ReadFrom(new MemoryStream(bytes), "upload.bin", StoredHash.Trust);
        Assert.Equal(weights.ContentHash, trusted.ContentHash);
        Assert.NotEqual(weights.Tensors[0].Values, trusted.Tensors[0].Values);
        var declared = ModelWeights.ReadFrom(new MemoryStream(bytes), "upload.bin", StoredHash.Declare);
        Assert.Equal(weights.ContentHash, declared.DeclaredHash);
        Assert.False(declared.MatchesDeclaredHash);
    }

    [Fact]
    public void Should_reject_a_corrupted_length_prefix_without_allocating_it()
    {
        var weights = new ModelWeights([new WeightTensor("w", [3], [1, 2, 3])]);
        using var buffer = new MemoryStream();
        weights.WriteTo(buffer);
        var bytes = buffer.ToArray();
        bytes[29] = 0x7F; // high byte of the value count (magic, version, count, name, rank, dim precede it): 2 G floats
        var e = Assert.Throws<InvalidDataException>(() => ModelWeights.ReadFrom(new MemoryStream(bytes), "upload.bin"));
        Assert.Contains("truncated", e.Message);
    }

    [Fact]
    public void Should_name_the_tensor_whose_shape_does_not_fit()
    {
        using var module = TorchRuntime.Seeded(1, () => ProjectedEncoder.SmallCnn([8, 8, 16, 16], 16));
        var wrong = ModelWeights.FromModule(module).Tensors
            .Select(t => t.Name == "projection.output.bias" ? new WeightTensor(t.Name, [3], [0, 0, 0]) : t).ToList();
        var e = Assert.Throws<InvalidOperationException>(() => new ModelWeights(wrong).LoadInto(module));
        Assert.Contains("projection.output.bias", e.Message);
    }

    [Fact]
    public void Should_take_out_a_submodule_under_its_own_names()
    {
        var weights = new ModelWeights([
            new WeightTensor("encoder.conv.weight", [2], [1, 2]),
            new WeightTensor("encoder_extra.bias", [1], [3]),
            new WeightTensor("projection.bias", [1], [4]),
        ]);
        var encoder = weights.Submodule("encoder");
        Assert.Equal(["conv.weight"], encoder.Tensors.Select(t => t.Name));
        Assert.Equal([1f, 2f], encoder["conv.weight"].Values);
        Assert.Throws<KeyNotFoundException>(() => weights.Submodule("predictor"));
    }

    [Fact]
    public void Should_keep_exactly_the_module_parameters_as_its_learned_tensors()
    {
        using var module = TorchRuntime.Seeded(1, () => ProjectedEncoder.SmallCnn([8, 8, 16, 16], 16));

        var learned = ModelWeights.FromModule(module).Learned();

        // The same names as the module's parameters: every BatchNorm running statistic and counter left out.
        Assert.Equal(module.named_parameters().Select(p => p.name), learned.Tensors.Select(t => t.Name));
        Assert.True(ModelWeights.FromModule(module).Tensors.Count > learned.Tensors.Count);
    }
}
