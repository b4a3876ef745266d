using FedActors.Training.Data;

namespace FedActors.Training.Methods;

/// <summary>The kinds of payload a round moves, as traffic is counted per kind and direction.</summary>
public static class PayloadKinds
{
    /// <summary>Model weights: the global model down, a client's model up.</summary>
    public const string Weights = "weights";
    public const string Scalar = "scalar";
    public const string Statistics = "statistics";
    public const string Features = "features";
    /// <summary>A target (momentum) network's weights, counted apart from the federated model's (FCLOpt, PTNU, DP).</summary>
    public const string TargetWeights = "target-weights";
}

/// <summary>
/// A typed part of what a client uploads or the server broadcasts beside the model weights.
/// <see cref="Bytes"/> is what it costs on the wire: its values (float32 unless said otherwise),
/// not the envelope, so methods compare by what they send.
/// </summary>
public abstract record Payload
{
    public abstract string Kind { get; }
    public abstract long Bytes { get; }
}

/// <summary>One number, e.g. FedMoCo's RSA ρ or Fed-MAS's robust factor (sent as float64).</summary>
public sealed record ScalarPayload(double Value) : Payload
{
    public override string Kind => PayloadKinds.Scalar;
    public override long Bytes => sizeof(double);
}

/// <summary>Sites' intensity statistics (FedMoCo's metadata transfer): one site's upload, or the set the server broadcasts.</summary>
public sealed record StatisticsPayload(IReadOnlyList<SiteStatistics> Sites) : Payload
{
    public override string Kind => PayloadKinds.Statistics;
    public override long Bytes => Sites.Sum(s => s.PayloadBytes);
}

/// <summary>
/// Feature vectors, row-major [<see cref="Count"/>, <paramref name="Dimension"/>], each tagged with its
/// slice-position partition, from one site (FCL's feature exchange). Never images.
/// </summary>
public sealed record FeaturesPayload(float[] Values, int Dimension, int[] Partitions, string Site) : Payload
{
    public override string Kind => PayloadKinds.Features;
    public override long Bytes => sizeof(float) * (long)Values.Length + sizeof(int) * (long)Partitions.Length;
    public int Count => Partitions.Length;

    /// <summary>Throws naming the site when the values do not make <see cref="Count"/> rows of <see cref="Dimension"/>.</summary>
    public void Validate()
    {
        if (Dimension <= 0 || Values.Length != (long)Partitions.Length * Dimension)
            throw new InvalidDataException($"features of site '{Site}': {Values.Length} values are not {Partitions.Length} rows of {Dimension}.");
        if (Values.Any(v => !float.IsFinite(v))) throw new InvalidDataException($"features of site '{Site}' hold NaN or Inf.");
    }
}

/// <summary>A target network's weights beside the model (FCLOpt's global target down, a client's target up).</summary>
public sealed record TargetWeightsPayload(Weights.ModelWeights Weights) : Payload
{
    public override string Kind => PayloadKinds.TargetWeights;
    public override long Bytes => Weights.PayloadBytes;
}

/// <summary>
/// The named payloads of one upload or broadcast (names are the method's own, e.g. "rsa-rho"),
/// kept in name order so they serialise and replay identically.
/// </summary>
public sealed class MethodPayloads
{
    private readonly SortedDictionary<string, Payload> _parts;

    public MethodPayloads(IEnumerable<KeyValuePair<string, Payload>> parts)
    {
        _parts = new SortedDictionary<string, Payload>(StringComparer.Ordinal);
        foreach (var (name, payload) in parts)
        {
            if (string.IsNullOrWhiteSpace(name)) throw new ArgumentException("A payload needs a name.");
            if (!_parts.TryAdd(name, payload)) throw new ArgumentException($"Payload '{name}' is given twice.");
        }
    }

    public static MethodPayloads Empty { get; } = new([]);

    public static MethodPayloads Of(params (string Name, Payload Payload)[] parts) =>
        new(parts.Select(p => KeyValuePair.Create(p.Name, p.Payload)));

    public IReadOnlyCollection<string> Names => _parts.Keys;
    public int Count => _parts.Count;
    public bool IsEmpty => _parts.Count == 0;
    public IEnumerable<KeyValuePair<string, Payload>> Parts => _parts;

    public long Bytes => _parts.Values.Sum(p => p.Bytes);

    /// <summary>Bytes per payload kind, for traffic accounting.</summary>
    public IReadOnlyDictionary<string, long> BytesByKind() =>
        _parts.Values.GroupBy(p => p.Kind).ToDictionary(g => g.Key, g => g.Sum(p => p.Bytes), StringComparer.Ordinal);

    public bool TryGet<T>(string name, out T payload) where T : Payload
    {
        if (_parts.TryGetValue(name, out var p) && p is T typed)
        {
            payload = typed;
            return true;
        }
        payload = null!;
        return false;
    }

    /// <summary>The payload <paramref name="name"/> of type <typeparamref name="T"/>, or an error naming <paramref name="owner"/>.</summary>
    public T Get<T>(string name, string owner) where T : Payload =>
        TryGet<T>(name, out var p) ? p
            : throw new InvalidDataException(_parts.TryGetValue(name, out var other)
                ? $"{owner}: payload '{name}' is {other.Kind}, expected {typeof(T).Name}."
                : $"{owner}: no payload '{name}' (has: {(Count == 0 ? "none" : string.Join(", ", Names))}).");
}
