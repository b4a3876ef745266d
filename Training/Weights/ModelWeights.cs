using System.Runtime.InteropServices;
using System.Security.Cryptography;
using System.Text;
using TorchSharp;
using static TorchSharp.torch;

namespace FedActors.Training.Weights;

/// <summary>What <see cref="ModelWeights.ReadFrom"/> does with the content hash stored after the tensors.</summary>
public enum StoredHash
{
    /// <summary>Recompute it, and refuse a payload that does not match.</summary>
    Verify,

    /// <summary>Recompute it, and keep the stored one as <see cref="ModelWeights.DeclaredHash"/> for the receiver to judge.</summary>
    Declare,

    /// <summary>
    /// Take it as the content hash without recomputing: for bytes proven identical to what the sender wrote by other
    /// means (a checksum over the whole payload), so that the sender's hash, computed from these very tensors, holds.
    /// </summary>
    Trust,
}

/// <summary>One named tensor of a model as a flat float buffer (row-major).</summary>
/// <param name="Name">The tensor's state_dict name, e.g. <c>encoder.conv1.weight</c>.</param>
/// <param name="Shape">Size of each axis, outermost first.</param>
/// <param name="Values">The values, row-major; its length must equal the product of <paramref name="Shape"/>.</param>
public sealed record WeightTensor(string Name, long[] Shape, float[] Values)
{
    /// <summary>Number of values the shape holds: the product of <see cref="Shape"/> (1 for a scalar).</summary>
    public long ElementCount => Shape.Aggregate(1L, (a, b) => a * b);
}

/// <summary>
/// A model's state (parameters and buffers) as named float buffers with a content hash.
/// This is what travels between hospitals and the coordinator: bytes, never tensors.
/// </summary>
public sealed class ModelWeights
{
    private const uint Magic = 0x54574146; // "FAWT"
    private const int FormatVersion = 1;
    private string? _hash;

    /// <summary>Creates weights from named tensors; the list and its buffers are kept without copying.</summary>
    /// <param name="tensors">The tensors, in state_dict order; names must be unique and each buffer must match its shape.</param>
    /// <exception cref="ArgumentException">A name repeats or a tensor's value count does not match its shape.</exception>
    public ModelWeights(IReadOnlyList<WeightTensor> tensors)
    {
        var seen = new HashSet<string>();
        foreach (var t in tensors)
        {
            if (!seen.Add(t.Name)) throw new ArgumentException($"Tensor '{t.Name}' appears twice.", nameof(tensors));
            if (t.ElementCount != t.Values.Length)
                throw new ArgumentException($"Tensor '{t.Name}': shape [{string.Join(',', t.Shape)}] needs {t.ElementCount} values, found {t.Values.Length}.", nameof(tensors));
        }
        Tensors = tensors;
    }

    /// <summary>The named tensors, in the order they were given (state_dict order for <see cref="FromModule"/>).</summary>
    public IReadOnlyList<WeightTensor> Tensors { get; }

    /// <summary>Total number of float values over all tensors.</summary>
    public long ElementCount => Tensors.Sum(t => (long)t.Values.Length);

    /// <summary>‖this − <paramref name="other"/>‖₂ over every value of every tensor; the two must have the same tensors.</summary>
    public double DistanceTo(ModelWeights other)
    {
        if (other.Tensors.Count != Tensors.Count) throw new ArgumentException($"{other.Tensors.Count} tensors against {Tensors.Count}.");
        double sum = 0;
        for (var i = 0; i < Tensors.Count; i++)
        {
            var (a, b) = (Tensors[i], other.Tensors[i]);
            if (a.Name != b.Name || a.Values.Length != b.Values.Length) throw new ArgumentException($"Tensor {i}: '{a.Name}' against '{b.Name}'.");
            for (var k = 0; k < a.Values.Length; k++) sum += ((double)a.Values[k] - b.Values[k]) * ((double)a.Values[k] - b.Values[k]);
        }
        return Math.Sqrt(sum);
    }

    /// <summary>
    /// The tensors gradient descent learns: every tensor but BatchNorm's running statistics and
    /// batch counter. Divergences between models are measured on these (FedEMA, FedU), as on a
    /// module's parameters; the counter alone would otherwise outweigh every learned difference.
    /// </summary>
    public ModelWeights Learned() =>
        new(Tensors.Where(t => !BatchNormStatistics.Any(s => t.Name == s || t.Name.EndsWith("." + s, StringComparison.Ordinal))).ToList());

    private static readonly string[] BatchNormStatistics = ["running_mean", "running_var", "num_batches_tracked"];

    /// <summary>Whether any tensor belongs to the submodule at field path <paramref name="name"/> (see <see cref="Submodule"/>).</summary>
    public bool HasSubmodule(string name) => Tensors.Any(t => t.Name.StartsWith(name + ".", StringComparison.Ordinal));

    /// <summary>Bytes of the float payload (what a transfer of these weights costs).</summary>
    public long PayloadBytes => ElementCount * sizeof(float);

    /// <summary>SHA-256 over names, shapes and values, hex encoded.</summary>
    public string ContentHash => _hash ??= ComputeHash();

    /// <summary>
    /// The hash that came with these weights when they were read without verification
    /// (<see cref="StoredHash.Declare"/>), so the receiver can reject a corrupted
    /// payload with a reason instead of losing the message; null otherwise.
    /// </summary>
    public string? DeclaredHash { get; private set; }

    /// <summary>False when a declared hash came with the payload and the content does not match it.</summary>
    public bool MatchesDeclaredHash => DeclaredHash is null || DeclaredHash == ContentHash;

    /// <summary>The tensor named <paramref name="name"/>.</summary>
    /// <param name="name">A state_dict name, e.g. <c>encoder.conv1.weight</c>.</param>
    /// <exception cref="KeyNotFoundException">No tensor has that name.</exception>
    public WeightTensor this[string name] =>
        Tensors.FirstOrDefault(t => t.Name == name) ?? throw new KeyNotFoundException($"No tensor named '{name}'.");

    /// <summary>
    /// Copies a module's parameters and buffers (state_dict order) into float buffers.
    /// Integer buffers (BatchNorm's int64 num_batches_tracked) travel as float32 too, exact
    /// up to 2^24, and <see cref="LoadInto"/> converts them back to the module's dtype.
    /// </summary>
    public static ModelWeights FromModule(nn.Module module)
    {
        using var scope = NewDisposeScope();
        var list = new List<WeightTensor>();
        foreach (var (name, tensor) in module.state_dict())
        {
            var flat = tensor.detach().cpu().to_type(ScalarType.Float32).contiguous().reshape(-1);
            list.Add(new WeightTensor(name, tensor.shape.ToArray(), flat.data<float>().ToArray()));
        }
        return new ModelWeights(list);
    }

    /// <summary>
    /// The tensors of one submodule, <paramref name="prefix"/> its field path (e.g. "encoder"),
    /// renamed without the prefix: a pre-trained backbone's weights out of a whole network's.
    /// </summary>
    public ModelWeights Submodule(string prefix)
    {
        var head = prefix + ".";
        var inside = Tensors.Where(t => t.Name.StartsWith(head, StringComparison.Ordinal))
            .Select(t => t with { Name = t.Name[head.Length..] }).ToList();
        if (inside.Count == 0) throw new KeyNotFoundException($"No tensors under '{prefix}'.");
        return new ModelWeights(inside);
    }

    /// <summary>
    /// Writes these weights into a module in place (keeping its parameter objects, so an
    /// optimiser bound to them stays valid). Names and shapes must match exactly.
    /// </summary>
    public void LoadInto(nn.Module module)
    {
        using var scope = NewDisposeScope();
        var target = module.state_dict();
        var missing = target.Keys.Where(k => Tensors.All(t => t.Name != k)).ToList();
        var extra = Tensors.Where(t => !target.ContainsKey(t.Name)).Select(t => t.Name).ToList();
        if (missing.Count > 0 || extra.Count > 0)
            throw new InvalidOperationException(
                $"Weights do not fit module {module.GetName()}: missing [{string.Join(", ", missing)}], unexpected [{string.Join(", ", extra)}].");
        using var _ = no_grad();
        foreach (var t in Tensors)
        {
            var dest = target[t.Name];
            if (!dest.shape.SequenceEqual(t.Shape))
                throw new InvalidOperationException(
                    $"Tensor '{t.Name}': module has shape [{string.Join(',', dest.shape)}], weights have [{string.Join(',', t.Shape)}].");
            dest.copy_(tensor(t.Values, t.Shape));
        }
    }

    /// <summary>
    /// Writes the weights in FedActors' binary format (magic "FAWT", version, then each tensor's name, shape and
    /// float32 values in the machine's byte order, then a hash) at the stream's position; the stream is left open.
    /// The hash written is <see cref="DeclaredHash"/> when there is one, so relaying a corrupted payload keeps it detectable.
    /// </summary>
    /// <param name="stream">A writable stream.</param>
    public void WriteTo(Stream stream)
    {
        using var w = new BinaryWriter(stream, Encoding.UTF8, leaveOpen: true);
        w.Write(Magic);
        w.Write(FormatVersion);
        w.Write(Tensors.Count);
        foreach (var t in Tensors)
        {
            w.Write(t.Name);
            w.Write(t.Shape.Length);
            foreach (var d in t.Shape) w.Write(d);
            w.Write(t.Values.Length);
            w.Write(MemoryMarshal.AsBytes(t.Values.AsSpan()));
        }
        // Passed on as declared: relaying a corrupted payload must not make it look sound.
        w.Write(DeclaredHash ?? ContentHash);
    }

    /// <summary>
    /// Reads weights written by <see cref="WriteTo"/> from the current position of <paramref name="stream"/>, which
    /// is left open; the content hash is computed while the tensors arrive.
    /// </summary>
    /// <param name="stream">The stream to read; a socket's stream is fine (partial reads are completed).</param>
    /// <param name="source">Named in errors (a file path, a message kind).</param>
    /// <param name="check">What to do with the stored hash: by default a content that does not match it is an error.</param>
    /// <exception cref="InvalidDataException">The bytes are not a weights payload, of another format version, truncated,
    /// or (with <see cref="StoredHash.Verify"/>) do not match their stored hash.</exception>
    public static ModelWeights ReadFrom(Stream stream, string source, StoredHash check = StoredHash.Verify)
    {
        using var r = new BinaryReader(stream, Encoding.UTF8, leaveOpen: true);
        try
        {
            var magic = r.ReadUInt32();
            if (magic != Magic) throw new InvalidDataException($"{source}: not a FedActors weights file (magic 0x{magic:X8}).");
            var version = r.ReadInt32();
            if (version != FormatVersion) throw new InvalidDataException($"{source}: weights format version {version}, expected {FormatVersion}.");
            var count = CheckedLength(r, 1); // every tensor takes at least a byte
            var list = new List<WeightTensor>(count);
            // The content hash as the tensors arrive (what ComputeHash does afterwards): from a socket it runs while the next bytes come in.
            using var hash = check == StoredHash.Trust ? null : IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
            for (var i = 0; i < count; i++)
            {
                var name = r.ReadString();
                var shape = new long[CheckedLength(r, sizeof(long))];
                for (var k = 0; k < shape.Length; k++) shape[k] = r.ReadInt64();
                var values = GC.AllocateUninitializedArray<float>(CheckedLength(r, sizeof(float))); // every byte is read into it: zeroing 45 MB first cost more than the parse
                var bytes = MemoryMarshal.AsBytes(values.AsSpan());
                // A socket hands over what has arrived so far: read until the tensor is complete.
                for (var filled = 0; filled < bytes.Length;)
                {
                    var read = r.Read(bytes[filled..]);
                    if (read == 0) throw new EndOfStreamException();
                    filled += read;
                }
                list.Add(new WeightTensor(name, shape, values));
                if (hash is null) continue;
                hash.AppendData(Encoding.UTF8.GetBytes(name));
                foreach (var d in shape) hash.AppendData(BitConverter.GetBytes(d));
                hash.AppendData(bytes);
            }
            var stored = r.ReadString();
            if (hash is null) return new ModelWeights(list) { _hash = stored };
            var weights = new ModelWeights(list) { _hash = Convert.ToHexString(hash.GetHashAndReset()).ToLowerInvariant() };
            if (check == StoredHash.Declare)
            {
                weights.DeclaredHash = stored;
                return weights;
            }
            if (stored != weights.ContentHash)
                throw new InvalidDataException($"{source}: content hash mismatch (stored {stored[..12]}…, computed {weights.ContentHash[..12]}…).");
            return weights;
        }
        catch (EndOfStreamException)
        {
            throw new InvalidDataException($"{source}: truncated weights file.");
        }
    }

    /// <summary>Reads a length prefix, refusing one the rest of the stream cannot hold (a corrupted length must not allocate gigabytes).</summary>
    private static int CheckedLength(BinaryReader r, int elementBytes)
    {
        var length = r.ReadInt32();
        if (length < 0 || (r.BaseStream.CanSeek && (long)length * elementBytes > r.BaseStream.Length - r.BaseStream.Position))
            throw new EndOfStreamException();
        return length;
    }

    /// <summary>Writes the weights to a file with <see cref="WriteTo"/>, replacing any file at <paramref name="path"/>.</summary>
    /// <param name="path">The file to create.</param>
    public void Save(string path)
    {
        using var f = File.Create(path);
        WriteTo(f);
    }

    /// <summary>Reads weights saved by <see cref="Save"/>, verifying their stored hash.</summary>
    /// <param name="path">The file to read; named in errors.</param>
    /// <exception cref="InvalidDataException">The file is not a weights file, truncated or corrupted.</exception>
    public static ModelWeights Load(string path)
    {
        using var f = File.OpenRead(path);
        return ReadFrom(f, path);
    }

    private string ComputeHash()
    {
        using var h = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        foreach (var t in Tensors)
        {
            h.AppendData(Encoding.UTF8.GetBytes(t.Name));
            foreach (var d in t.Shape) h.AppendData(BitConverter.GetBytes(d));
            h.AppendData(MemoryMarshal.AsBytes(t.Values.AsSpan()));
        }
        return Convert.ToHexString(h.GetHashAndReset()).ToLowerInvariant();
    }
}
