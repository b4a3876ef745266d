using System.Security.Cryptography;
using System.Text;
using FedActors.Training.Weights;

namespace FedActors.Training.Objectives;

/// <summary>
/// The envelope around a learner's saved state: magic, format version, learner kind, then a
/// length-prefixed body and its SHA-256. The hash lets a flipped bit anywhere (queue values,
/// optimiser buffers) fail loudly instead of silently changing a hospital's training.
/// </summary>
public static class LearnerStateFormat
{
    private const uint Magic = 0x534C4146; // "FALS"
    /// <summary>The envelope format version this build writes and the only one it reads.</summary>
    public const int Version = 1;

    /// <summary>A weights blob inside a learner state, its errors naming the state's source and the field.</summary>
    public static ModelWeights ReadWeights(LearnerStateReader r, string field)
    {
        try
        {
            return ModelWeights.ReadFrom(r.At(field).BaseStream, $"{r.Source} ({field})");
        }
        catch (Exception e) when (e is InvalidDataException or ArgumentException)
        {
            throw r.Error(e.Message, e);
        }
    }

    /// <summary>Runs one restore step, turning TorchSharp's and ModelWeights' errors into one naming the source and field.</summary>
    public static void Restore(string source, string field, Action restore)
    {
        try
        {
            restore();
        }
        catch (Exception e) when (e is InvalidOperationException or ArgumentException or IOException)
        {
            throw LearnerStateFormat.FieldError(source, field, e.Message, e);
        }
    }

    /// <summary>The one shape of a state error: where it came from, which field, what is wrong.</summary>
    public static InvalidDataException FieldError(string source, string field, string message, Exception? inner = null) =>
        new($"{source}: learner state field '{field}': {message.TrimEnd('.')}.", inner);

    /// <summary>Writes the envelope; <paramref name="writeBody"/> writes the learner's fields.</summary>
    public static void Write(Stream stream, string kind, Action<BinaryWriter> writeBody)
    {
        using var body = new MemoryStream();
        using (var bw = new BinaryWriter(body, Encoding.UTF8, leaveOpen: true)) writeBody(bw);
        using var w = new BinaryWriter(stream, Encoding.UTF8, leaveOpen: true);
        w.Write(Magic);
        w.Write(Version);
        w.Write(kind);
        w.Write(body.Length);
        w.Write(body.GetBuffer(), 0, (int)body.Length);
        w.Write(SHA256.HashData(body.GetBuffer().AsSpan(0, (int)body.Length)));
    }

    /// <summary>
    /// Checks the envelope and hands the verified body to <paramref name="readBody"/>, which
    /// must consume all of it. Every failure is an <see cref="InvalidDataException"/> naming
    /// <paramref name="source"/> and the field being read.
    /// </summary>
    public static void Read(Stream stream, string source, string kind, Action<LearnerStateReader> readBody)
    {
        var reader = new LearnerStateReader(new BinaryReader(stream, Encoding.UTF8, leaveOpen: true), source);
        byte[] body;
        try
        {
            var magic = reader.At("magic").ReadUInt32();
            if (magic != Magic) throw reader.Error($"not a FedActors learner state (magic 0x{magic:X8})");
            var version = reader.At("version").ReadInt32();
            if (version != Version) throw reader.Error($"format version {version}, this build reads {Version}");
            var storedKind = reader.At("kind").ReadString();
            if (storedKind != kind) throw reader.Error($"state of a '{storedKind}' learner, this learner is '{kind}'");
            var length = reader.At("body length").ReadInt64();
            if (length < 0 || (stream.CanSeek && length > stream.Length - stream.Position)) throw new EndOfStreamException();
            body = reader.At("body").ReadBytes((int)length);
            if (body.Length != length) throw new EndOfStreamException();
            var hash = reader.At("body hash").ReadBytes(32);
            if (hash.Length != 32) throw new EndOfStreamException();
            if (!hash.AsSpan().SequenceEqual(SHA256.HashData(body)))
            {
                reader.At("body");
                throw reader.Error("checksum mismatch, the state is corrupted");
            }
        }
        catch (EndOfStreamException)
        {
            throw reader.Error("truncated");
        }

        using var bodyStream = new MemoryStream(body, writable: false);
        var bodyReader = new LearnerStateReader(new BinaryReader(bodyStream, Encoding.UTF8), source);
        try
        {
            readBody(bodyReader);
        }
        catch (EndOfStreamException)
        {
            throw bodyReader.Error("truncated");
        }
        if (bodyStream.Position != bodyStream.Length)
            throw bodyReader.Error($"{bodyStream.Length - bodyStream.Position} bytes left over after the last field");
    }
}

/// <summary>Reads state fields, remembering which one it is on so errors can name it.</summary>
/// <param name="reader">The reader over the state's bytes; not disposed by this class.</param>
/// <param name="source">Where the state came from, named in errors.</param>
public sealed class LearnerStateReader(BinaryReader reader, string source)
{
    /// <summary>Where the state came from (a file path, a message kind), named in every error.</summary>
    public string Source => source;
    /// <summary>The field being read now (set by <see cref="At"/>), named in errors.</summary>
    public string Field { get; private set; } = "magic";

    /// <summary>Marks <paramref name="field"/> as the one being read and returns the reader.</summary>
    public BinaryReader At(string field)
    {
        Field = field;
        return reader;
    }

    /// <summary>A length prefix the rest of the body can hold (a corrupted length must not allocate gigabytes).</summary>
    public int Length(string field, int elementBytes)
    {
        var length = At(field).ReadInt32();
        var left = reader.BaseStream.Length - reader.BaseStream.Position;
        if (length < 0 || (long)length * elementBytes > left) throw Error($"length {length} does not fit the {left} bytes left");
        return length;
    }

    /// <summary>An exception (not thrown) naming <see cref="Source"/>, the current <see cref="Field"/> and <paramref name="message"/>; the caller throws it.</summary>
    /// <param name="message">What is wrong with the field.</param>
    /// <param name="inner">The underlying exception, or <see langword="null"/>.</param>
    public InvalidDataException Error(string message, Exception? inner = null) =>
        LearnerStateFormat.FieldError(source, Field, message, inner);
}
