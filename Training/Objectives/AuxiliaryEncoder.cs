using FedActors.Training.Models;
using FedActors.Training.Weights;
using TorchSharp;
using static TorchSharp.torch;

namespace FedActors.Training.Objectives;

/// <summary>
/// Fed-MAS's auxiliary network f (ALGORITHMS.md §4): a frozen self-supervised encoder, the same on every
/// hospital. Each hospital loads it from one weights file, read-only, and refuses a file whose content hash
/// is not the one the experiment names, so no hospital can train against a different prior. Its parameters
/// never take gradients and it always runs in eval mode; <see cref="Features"/> are its pooled backbone
/// features, d_aux wide.
/// </summary>
public sealed class AuxiliaryEncoder : IDisposable
{
    private readonly ProjectedEncoder _network;

    private AuxiliaryEncoder(ProjectedEncoder network, string contentHash)
    {
        _network = network;
        ContentHash = contentHash;
    }

    /// <summary>The SHA-256 of the loaded tensors, as <see cref="ModelWeights.ContentHash"/> gives it.</summary>
    public string ContentHash { get; }

    /// <summary>d_aux, the width of <see cref="Features"/>.</summary>
    public int FeatureDim => _network.FeatureDim;

    /// <summary>Loads the frozen auxiliary encoder from <paramref name="path"/>, checking its content hash first.</summary>
    /// <param name="path">A weights file written by <see cref="ModelWeights.Save"/> (the <c>fedactors auxiliary</c> command).</param>
    /// <param name="expectedHash">The content hash the experiment names; any other file is an error naming both.</param>
    /// <param name="create">Builds the encoder the file's tensors fit.</param>
    /// <param name="device">Device the encoder is placed on.</param>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    /// <exception cref="InvalidDataException">The file's hash differs from <paramref name="expectedHash"/> (compared ignoring case), it is
    /// corrupted, or its tensors do not fit the network <paramref name="create"/> builds.</exception>
    public static AuxiliaryEncoder Load(string path, string expectedHash, Func<ProjectedEncoder> create, Device device)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"Fed-MAS auxiliary encoder '{path}' does not exist; make it with `fedactors auxiliary`.", path);
        var weights = ModelWeights.Load(path);
        if (!string.Equals(weights.ContentHash, expectedHash, StringComparison.OrdinalIgnoreCase))
            throw new InvalidDataException($"{path}: the auxiliary encoder's content hash is {weights.ContentHash}, but the experiment names {expectedHash}; every hospital must use the same file.");
        // Overwritten by the file's weights; seeded only so its initialisers' draws take the lock.
        var network = TorchRuntime.Seeded(0, create);
        try
        {
            weights.LoadInto(network);
        }
        catch (Exception e)
        {
            network.Dispose();
            throw new InvalidDataException($"{path}: does not fit the auxiliary encoder: {e.Message}", e);
        }
        foreach (var p in network.parameters()) p.requires_grad = false;
        network.eval();
        network.to(device);
        return new AuxiliaryEncoder(network, weights.ContentHash);
    }

    /// <summary>f(x): [B, d_aux], without gradient.</summary>
    public Tensor Features(Tensor images)
    {
        using var _ = no_grad();
        return _network.Features(images);
    }

    /// <summary>The tensors as they are now, to check that nothing changed them.</summary>
    public ModelWeights Weights() => ModelWeights.FromModule(_network);

    /// <summary>Moves the encoder's tensors to <paramref name="device"/>; later <see cref="Features"/> calls expect images there.</summary>
    /// <param name="device">The target device.</param>
    public void MoveTo(Device device) => _network.to(device);

    /// <summary>Disposes the encoder's network and every submodule.</summary>
    public void Dispose() => _network.DisposeTree();
}
