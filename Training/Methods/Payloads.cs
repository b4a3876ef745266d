using FedActors.Training.Data;

namespace FedActors.Training.Methods;

/// <summary>The kinds of payload a round moves, as traffic is counted per kind and direction.</summary>
public static class PayloadKinds
{
    /// <summary>Model weights: the global model down, a client's model up.</summary>
    public const string Weights = "weights";
    /// <summary>A single number (<see cref="ScalarPayload"/>), e.g. FedMoCo's RSA ρ or Fed-MAS's robust factor.</summary>
    public const string Scalar = "scalar";
    /// <summary>Sites' intensity statistics (<see cref="StatisticsPayload"/>), FedMoCo's metadata transfer.</summary>
    public const string Statistics = "statistics";
    /// <summary>Feature vectors (<see cref="FeaturesPayload"/>), FCL's feature exchange.</summary>
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
    /// <summary>The traffic kind it is counted under, one of <see cref="PayloadKinds"/>' constants.</summary>
    public abstract string Kind { get; }
    /// <summary>Its size on the wire in bytes: the values only, not the name or envelope.</summary>
    public abstract long Bytes { get; }
}

/// <summary>One number, e.g. FedMoCo's RSA ρ or Fed-MAS's robust factor (sent as float64).</summary>
/// <param name="Value">The number.</param>
public sealed record ScalarPayload(double Value) : Payload
{
    /// <inheritdoc/>
    public override string Kind => PayloadKinds.Scalar;
    /// <inheritdoc/>
    public override long Bytes => sizeof(double);
}

/// <summary>Sites' intensity statistics (FedMoCo's metadata transfer): one site's upload, or the set the server broadcasts.</summary>
/// <param name="Sites">The statistics, one entry per site.</param>
public sealed record StatisticsPayload(IReadOnlyList<SiteStatistics> Sites) : Payload
{
    /// <inheritdoc/>
    public override string Kind => PayloadKinds.Statistics;
    /// <inheritdoc/>
    public override long Bytes => Sites.Sum(s => s.PayloadBytes);
}

/// <summary>
/// Feature vectors, row-major [<see cref="Count"/>, <paramref name="Dimension"/>], each tagged with its
/// slice-position partition, from one site (FCL's feature exchange). Never images.
/// </summary>
/// <param name="Values">The feature values, row-major, <see cref="Count"/> × <paramref name="Dimension"/> float32s.</param>
/// <param name="Dimension">The length of each feature vector (positive).</param>
/// <param name="Partitions">Each row's slice-position partition; its length is the row count.</param>
/// <param name="Site">The site the features come from, named in validation errors.</param>
public sealed record FeaturesPayload(float[] Values, int Dimension, int[] Partitions, string Site) : Payload
{
    /// <inheritdoc/>
    public override string Kind => PayloadKinds.Features;
    /// <inheritdoc/>
    public override long Bytes => sizeof(float) * (long)Values.Length + sizeof(int) * (long)Partitions.Length;
    /// <summary>The number of feature rows (one per partition tag).</summary>
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
/// <param name="Weights">The target network's weights; counted at their <see cref="Weights.ModelWeights.PayloadBytes"/>.</param>
public sealed record TargetWeightsPayload(Weights.ModelWeights Weights) : Payload
{
    /// <inheritdoc/>
    public override string Kind => PayloadKinds.TargetWeights;
    /// <inheritdoc/>
    public override long Bytes => Weights.PayloadBytes;
}

/// <summary>
/// The named payloads of one upload or broadcast (names are the method's own, e.g. "rsa-rho"),
/// kept in name order so they serialise and replay identically.
/// </summary>
public sealed class MethodPayloads
{
    private readonly SortedDictionary<string, Payload> _parts;

    /// <summary>Creates the set from named parts, sorted by name (ordinal).</summary>
    /// <param name="parts">Each payload under its method-chosen name.</param>
    /// <exception cref="ArgumentException">A name is empty or whitespace, or given twice.</exception>
    public MethodPayloads(IEnumerable<KeyValuePair<string, Payload>> parts)
    {
        _parts = new SortedDictionary<string, Payload>(StringComparer.Ordinal);
        foreach (var (name, payload) in parts)
        {
            if (string.IsNullOrWhiteSpace(name)) throw new ArgumentException("A payload needs a name.");
            if (!_parts.TryAdd(name, payload)) throw new ArgumentException($"Payload '{name}' is given twice.");
        }
    }

    /// <summary>No payloads: what plain weight-averaging methods upload and broadcast beside the weights.</summary>
    public static MethodPayloads Empty { get; } = new([]);

    /// <summary>Creates the set from (name, payload) pairs; same rules as the constructor.</summary>
    /// <param name="parts">The named payloads; names must be non-blank and distinct.</param>
    public static MethodPayloads Of(params (string Name, Payload Payload)[] parts) =>
        new(parts.Select(p => KeyValuePair.Create(p.Name, p.Payload)));

    /// <summary>The payloads' names, in ordinal order.</summary>
    public IReadOnlyCollection<string> Names => _parts.Keys;
    /// <summary>The number of payloads.</summary>
    public int Count => _parts.Count;
    /// <summary>Whether there are no payloads.</summary>
    public bool IsEmpty => _parts.Count == 0;
    /// <summary>The named payloads in ordinal name order, the order they are serialised in.</summary>
    public IEnumerable<KeyValuePair<string, Payload>> Parts => _parts;

    /// <summary>The wire cost of all payloads together: the sum of their <see cref="Payload.Bytes"/>.</summary>
    public long Bytes => _parts.Values.Sum(p => p.Bytes);

    /// <summary>Bytes per payload kind, for traffic accounting.</summary>
    public IReadOnlyDictionary<string, long> BytesByKind() =>
        _parts.Values.GroupBy(p => p.Kind).ToDictionary(g => g.Key, g => g.Sum(p => p.Bytes), StringComparer.Ordinal);

    /// <summary>Looks up the payload <paramref name="name"/> if it exists and is a <typeparamref name="T"/>.</summary>
    /// <param name="name">The payload's name.</param>
    /// <param name="payload">The payload when found; null otherwise.</param>
    /// <returns>False when there is no such payload or it is of another type.</returns>
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
