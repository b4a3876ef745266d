using FedActors.Training.Data;

namespace FedActors.Training.Methods;

/// <summary>
/// The binary layout of <see cref="MethodPayloads"/> inside messages and snapshots: a count, then
/// per payload its name, a kind tag and its values. Every read error names the source.
/// </summary>
public static class PayloadFormat
{
    private const byte ScalarTag = 1, StatisticsTag = 2, FeaturesTag = 3, TargetWeightsTag = 4;
    private const int MaxParts = 4096;

    /// <summary>Writes <paramref name="payloads"/> in name order; features are validated first.</summary>
    /// <param name="w">The writer; it is left open.</param>
    /// <param name="payloads">The payloads to write.</param>
    /// <exception cref="NotSupportedException">A payload type has no wire format.</exception>
    /// <exception cref="InvalidDataException">A <see cref="FeaturesPayload"/> does not validate.</exception>
    public static void Write(BinaryWriter w, MethodPayloads payloads)
    {
        w.Write(payloads.Count);
        foreach (var (name, payload) in payloads.Parts)
        {
            w.Write(name);
            switch (payload)
            {
                case ScalarPayload s:
                    w.Write(ScalarTag);
                    w.Write(s.Value);
                    break;
                case StatisticsPayload s:
                    w.Write(StatisticsTag);
                    w.Write(s.Sites.Count);
                    foreach (var site in s.Sites)
                    {
                        w.Write(site.SiteId);
                        w.Write(site.Mean);
                        w.Write(site.Std);
                        w.Write(site.Histogram?.Length ?? -1);
                        foreach (var h in site.Histogram ?? []) w.Write(h);
                    }
                    break;
                case FeaturesPayload f:
                    f.Validate();
                    w.Write(FeaturesTag);
                    w.Write(f.Site);
                    w.Write(f.Dimension);
                    w.Write(f.Partitions.Length);
                    foreach (var p in f.Partitions) w.Write(p);
                    foreach (var v in f.Values) w.Write(v);
                    break;
                case TargetWeightsPayload t:
                    w.Write(TargetWeightsTag);
                    w.Flush();
                    t.Weights.WriteTo(w.BaseStream);
                    break;
                default:
                    throw new NotSupportedException($"payload '{name}': no wire format for {payload.GetType().Name}.");
            }
        }
    }

    /// <summary>Reads what <see cref="Write"/> wrote.</summary>
    /// <param name="r">The reader, positioned at the payload count.</param>
    /// <param name="source">Where the bytes come from, named in every error.</param>
    /// <exception cref="InvalidDataException">The bytes are truncated, hold an unknown kind tag or an implausible count, or features that do not validate.</exception>
    public static MethodPayloads Read(BinaryReader r, string source)
    {
        try
        {
            var count = r.ReadInt32();
            if (count < 0 || count > MaxParts) throw new InvalidDataException($"{source}: {count} payloads.");
            var parts = new List<KeyValuePair<string, Payload>>(count);
            for (var i = 0; i < count; i++)
            {
                var name = r.ReadString();
                var tag = r.ReadByte();
                Payload payload = tag switch
                {
                    ScalarTag => new ScalarPayload(r.ReadDouble()),
                    StatisticsTag => new StatisticsPayload(ReadSites(r, $"{source}, payload '{name}'")),
                    FeaturesTag => ReadFeatures(r, $"{source}, payload '{name}'"),
                    TargetWeightsTag => new TargetWeightsPayload(Weights.ModelWeights.ReadFrom(r.BaseStream, $"{source}, payload '{name}'")),
                    _ => throw new InvalidDataException($"{source}: payload '{name}' has unknown kind tag {tag}."),
                };
                parts.Add(KeyValuePair.Create(name, payload));
            }
            return new MethodPayloads(parts);
        }
        catch (EndOfStreamException)
        {
            throw new InvalidDataException($"{source}: payloads are truncated.");
        }
    }

    private static List<SiteStatistics> ReadSites(BinaryReader r, string source)
    {
        var n = Count(r.ReadInt32(), source, "sites");
        var sites = new List<SiteStatistics>(n);
        for (var i = 0; i < n; i++)
        {
            var id = r.ReadString();
            var mean = r.ReadDouble();
            var std = r.ReadDouble();
            var bins = r.ReadInt32();
            double[]? histogram = null;
            if (bins >= 0)
            {
                histogram = new double[Count(bins, source, "histogram bins")];
                for (var b = 0; b < histogram.Length; b++) histogram[b] = r.ReadDouble();
            }
            sites.Add(new SiteStatistics(id, mean, std, histogram));
        }
        return sites;
    }

    private static FeaturesPayload ReadFeatures(BinaryReader r, string source)
    {
        var site = r.ReadString();
        var dimension = r.ReadInt32();
        var rows = Count(r.ReadInt32(), source, "feature rows");
        if (dimension <= 0 || (long)rows * dimension > int.MaxValue) throw new InvalidDataException($"{source}: {rows} rows of dimension {dimension}.");
        var partitions = new int[rows];
        for (var i = 0; i < rows; i++) partitions[i] = r.ReadInt32();
        var values = new float[rows * dimension];
        for (var i = 0; i < values.Length; i++) values[i] = r.ReadSingle();
        var features = new FeaturesPayload(values, dimension, partitions, site);
        features.Validate();
        return features;
    }

    private static int Count(int n, string source, string what) =>
        n is >= 0 and <= 100_000_000 ? n : throw new InvalidDataException($"{source}: {n} {what}.");
}
