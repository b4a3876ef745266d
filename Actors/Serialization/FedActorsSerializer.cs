using System.Runtime.Serialization;
using System.Text;
using Akka.Actor;
using Akka.Serialization;
using FedActors.Actors.Protocol;
using FedActors.Training.Methods;
using FedActors.Training.Objectives;
using FedActors.Training.Weights;

namespace FedActors.Actors.Serialization;

/// <summary>
/// Binary serializer for every <see cref="IFedActorsMessage"/>. Each message type has a
/// short manifest ending in its format version ("TR1"); a changed layout gets a new
/// manifest, so nodes of different builds fail loudly instead of misreading each other.
/// Weights use their own versioned, hash-checked format (<see cref="ModelWeights.WriteTo"/>).
/// </summary>
public sealed class FedActorsSerializer : SerializerWithStringManifest
{
    public const int Id = 417;

    /// <summary>Binds the serializer to the marker interface; include it in every ActorSystem.</summary>
    public const string Hocon = """
        akka.actor {
          serializers.fedactors = "FedActors.Actors.Serialization.FedActorsSerializer, FedActors.Actors"
          serialization-bindings {
            "FedActors.Actors.Protocol.IFedActorsMessage, FedActors.Actors" = fedactors
          }
        }
        """;

    private readonly Dictionary<Type, (string Manifest, Action<BinaryWriter, object> Write)> _writers = new();
    private readonly Dictionary<string, Func<BinaryReader, object>> _readers = new();

    public FedActorsSerializer(ExtendedActorSystem system) : base(system)
    {
        Register<StartRun>("SR1", (_, _) => { }, _ => StartRun.Instance);
        Register<RoundProgress>("RP1",
            (w, m) =>
            {
                w.Write(m.Round);
                w.Write(m.Attempt);
                w.Write(m.Selected);
                w.Write(m.Training);
                w.Write(m.Accepted);
                w.Write(m.Dropped);
            },
            r => new RoundProgress(r.ReadInt32(), r.ReadInt32(), r.ReadInt32(), r.ReadInt32(), r.ReadInt32(), r.ReadInt32()));
        Register<RoundClosed>("RC3", (w, m) => WriteSummary(w, m.Summary), r => new RoundClosed(ReadSummary(r)));
        Register<RunCompleted>("RD3",
            (w, m) =>
            {
                WriteWeights(w, m.FinalGlobal);
                WriteList(w, m.Rounds, WriteSummary);
            },
            r => new RunCompleted(ReadWeights(r, "RunCompleted"), ReadList(r, ReadSummary)));
        Register<RunEvent>("EV1",
            (w, m) =>
            {
                w.Write(m.Round);
                w.Write(m.Attempt);
                w.Write(m.Kind);
                WriteOptional(w, m.HospitalId, (x, v) => x.Write(v));
                w.Write(m.Reason);
                w.Write(m.SimulatedSeconds);
            },
            r => new RunEvent(r.ReadInt32(), r.ReadInt32(), r.ReadString(), ReadOptional(r, x => x.ReadString()), r.ReadString(), r.ReadDouble()));
        // Snapshots outlive the process that wrote them: a changed layout gets a new manifest.
        Register<CoordinatorSnapshot>("CS2",
            (w, m) =>
            {
                w.Write(m.CompletedRound);
                WriteWeights(w, m.Global);
                w.Write(m.SimulatedClock);
                WriteList(w, m.History, WriteSummary);
                w.Write(m.Method);
                w.Write(m.MethodState.Length);
                w.Write(m.MethodState);
            },
            r => new CoordinatorSnapshot(r.ReadInt32(), ReadWeights(r, "CoordinatorSnapshot"), r.ReadDouble(), ReadList(r, ReadSummary),
                r.ReadString(), ReadBytes(r)));
        Register<CrashNode>("CN1",
            (w, m) =>
            {
                w.Write(m.Node);
                w.Write(m.Round);
            },
            r => new CrashNode(r.ReadString(), r.ReadInt32()));
        Register<SubscribeToRun>("SU1", (w, m) => WriteRef(w, m.Listener), r => new SubscribeToRun(ReadRef(r)));
        Register<TrainRound>("TR2",
            (w, m) =>
            {
                w.Write(m.Round);
                WriteWeights(w, m.Global);
                PayloadFormat.Write(w, m.Broadcast ?? MethodPayloads.Empty);
            },
            r => new TrainRound(r.ReadInt32(), ReadWeights(r, "TrainRound"), PayloadFormat.Read(r, "TrainRound broadcast")));
        Register<LocalUpdate>("LU2",
            (w, m) =>
            {
                w.Write(m.Round);
                w.Write(m.HospitalId);
                WriteWeights(w, m.Weights);
                w.Write(m.Samples);
                w.Write(m.MeanLoss);
                w.Write(m.Steps);
                w.Write(m.ComputeSeconds);
                PayloadFormat.Write(w, m.Extras ?? MethodPayloads.Empty);
            },
            r => new LocalUpdate(r.ReadInt32(), r.ReadString(), ReadWeights(r, "LocalUpdate", verifyHash: false), r.ReadInt32(),
                r.ReadDouble(), r.ReadInt32(), r.ReadDouble(), PayloadFormat.Read(r, "LocalUpdate extras")));
        Register<TrainRoundByRef>("TRR2",
            (w, m) =>
            {
                w.Write(m.Round);
                WriteWeightsRef(w, m.Global);
                PayloadFormat.Write(w, m.Broadcast ?? MethodPayloads.Empty);
            },
            r => new TrainRoundByRef(r.ReadInt32(), ReadWeightsRef(r), PayloadFormat.Read(r, "TrainRoundByRef broadcast")));
        Register<LocalUpdateByRef>("LUR2",
            (w, m) =>
            {
                w.Write(m.Round);
                w.Write(m.HospitalId);
                WriteWeightsRef(w, m.Weights);
                w.Write(m.Samples);
                w.Write(m.MeanLoss);
                w.Write(m.Steps);
                w.Write(m.ComputeSeconds);
                PayloadFormat.Write(w, m.Extras ?? MethodPayloads.Empty);
            },
            r => new LocalUpdateByRef(r.ReadInt32(), r.ReadString(), ReadWeightsRef(r), r.ReadInt32(),
                r.ReadDouble(), r.ReadInt32(), r.ReadDouble(), PayloadFormat.Read(r, "LocalUpdateByRef extras")));
        Register<GetLocalState>("GS1", (_, _) => { }, _ => GetLocalState.Instance);
        Register<StopHospital>("SH1", (_, _) => { }, _ => StopHospital.Instance);
        Register<LocalStateReport>("LS2",
            (w, m) =>
            {
                w.Write(m.HospitalId);
                w.Write(m.LastRound);
                w.Write(m.SavedRound);
                WriteOptional(w, m.State, WriteStateSummary);
            },
            r => new LocalStateReport(r.ReadString(), r.ReadInt32(), r.ReadInt32(), ReadOptional(r, ReadStateSummary)));
        // Snapshots outlive the process that wrote them: the learner bytes carry their own version and hash.
        Register<HospitalSnapshot>("HS2",
            (w, m) =>
            {
                w.Write(m.HospitalId);
                w.Write(m.LastRound);
                w.Write(m.LearnerState.Length);
                w.Write(m.LearnerState);
                w.Write(m.Samples);
                w.Write(m.MeanLoss);
                w.Write(m.Steps);
                w.Write(m.ComputeSeconds);
                PayloadFormat.Write(w, m.Extras ?? MethodPayloads.Empty);
            },
            r => new HospitalSnapshot(r.ReadString(), r.ReadInt32(), ReadBytes(r), r.ReadInt32(), r.ReadDouble(), r.ReadInt32(), r.ReadDouble(),
                PayloadFormat.Read(r, "HospitalSnapshot extras")));
        Register<WeightsRef>("WR1", WriteWeightsRef, ReadWeightsRef);
        Register<FetchChunk>("FC1",
            (w, m) =>
            {
                w.Write(m.ContentHash);
                w.Write(m.Offset);
                w.Write(m.Length);
            },
            r => new FetchChunk(r.ReadString(), r.ReadInt64(), r.ReadInt32()));
        Register<WeightsChunk>("WC1",
            (w, m) =>
            {
                w.Write(m.ContentHash);
                w.Write(m.Offset);
                w.Write(m.TotalBytes);
                w.Write(m.Data.Length);
                w.Write(m.Data);
            },
            r => new WeightsChunk(r.ReadString(), r.ReadInt64(), r.ReadInt64(), ReadBytes(r)));
        Register<WeightsNotOffered>("WN1", (w, m) => w.Write(m.ContentHash), r => new WeightsNotOffered(r.ReadString()));
        Register<ReleaseWeights>("WX1", (w, m) => w.Write(m.ContentHash), r => new ReleaseWeights(r.ReadString()));
        Register<RequestLease>("RL1", (w, m) => w.Write(m.RequesterId), r => new RequestLease(r.ReadString()));
        Register<LeaseGranted>("LG1",
            (w, m) =>
            {
                w.Write(m.LeaseId);
                w.Write(m.Device);
            },
            r => new LeaseGranted(r.ReadInt64(), r.ReadString()));
        Register<ReleaseLease>("RE1", (w, m) => w.Write(m.LeaseId), r => new ReleaseLease(r.ReadInt64()));
        Register<GetDeviceUtilisation>("GU1", (_, _) => { }, _ => GetDeviceUtilisation.Instance);
        Register<DeviceUtilisation>("DU1",
            (w, m) =>
            {
                WriteList(w, m.Devices, WriteDeviceUsage);
                w.Write(m.QueueLength);
                w.Write(m.MaxQueueLength);
            },
            r => new DeviceUtilisation(ReadList(r, ReadDeviceUsage), r.ReadInt32(), r.ReadInt32()));
    }

    public override int Identifier => Id;

    /// <summary>Every message type this serializer knows, with its manifest.</summary>
    public IReadOnlyDictionary<Type, string> Manifests => _writers.ToDictionary(kv => kv.Key, kv => kv.Value.Manifest);

    public override string Manifest(object o) => Writer(o).Manifest;

    public override byte[] ToBinary(object obj)
    {
        var (_, write) = Writer(obj);
        using var buffer = new MemoryStream();
        using (var w = new BinaryWriter(buffer, Encoding.UTF8, leaveOpen: true)) write(w, obj);
        return buffer.ToArray();
    }

    public override object FromBinary(byte[] bytes, string manifest)
    {
        if (!_readers.TryGetValue(manifest, out var read))
            throw new SerializationException(
                $"FedActorsSerializer: unknown manifest '{manifest}' (known: {string.Join(", ", _readers.Keys)}); " +
                "the sending node may run a different FedActors version.");
        using var r = new BinaryReader(new MemoryStream(bytes, writable: false), Encoding.UTF8);
        try
        {
            var message = read(r);
            if (r.BaseStream.Position != bytes.Length)
                throw new SerializationException($"FedActorsSerializer: {bytes.Length - r.BaseStream.Position} bytes left over after a '{manifest}' message.");
            return message;
        }
        catch (EndOfStreamException)
        {
            throw new SerializationException($"FedActorsSerializer: truncated '{manifest}' message ({bytes.Length} bytes).");
        }
        catch (InvalidDataException e)
        {
            throw new SerializationException($"FedActorsSerializer: malformed '{manifest}' message ({bytes.Length} bytes): {e.Message}", e);
        }
    }

    private void Register<T>(string manifest, Action<BinaryWriter, T> write, Func<BinaryReader, T> read) where T : IFedActorsMessage
    {
        _writers.Add(typeof(T), (manifest, (w, o) => write(w, (T)o)));
        _readers.Add(manifest, r => read(r)!);
    }

    private (string Manifest, Action<BinaryWriter, object> Write) Writer(object o) =>
        _writers.TryGetValue(o.GetType(), out var entry)
            ? entry
            : throw new SerializationException($"FedActorsSerializer: no format for {o.GetType().FullName}; register it in the serializer.");

    private static void WriteSummary(BinaryWriter w, RoundSummary s)
    {
        w.Write(s.Round);
        foreach (var list in new[] { s.Selected, s.Accepted, s.Aggregated, s.Dropped, s.Lost, s.Late, s.Rejected, s.Surplus })
            WriteList(w, list, (x, v) => x.Write(v));
        w.Write(s.MeanLoss);
        w.Write(s.BytesDown);
        w.Write(s.BytesUp);
        w.Write(s.WallSeconds);
        w.Write(s.StaleReplies);
        w.Write(s.UnexpectedReplies);
        w.Write(s.DuplicateReplies);
        w.Write(s.Skipped);
        w.Write(s.GlobalHash);
        WriteList(w, s.Evaluation.ToList(), (x, kv) =>
        {
            x.Write(kv.Key);
            x.Write(kv.Value);
        });
        w.Write(s.SimulatedSeconds);
        w.Write(s.SimulatedClock);
        w.Write(s.Attempts);
        WriteList(w, s.Traffic, (x, t) =>
        {
            x.Write(t.HospitalId);
            x.Write(t.Direction);
            x.Write(t.Kind);
            x.Write(t.Bytes);
        });
        WriteList(w, s.AggregationWeights.OrderBy(kv => kv.Key, StringComparer.Ordinal).ToList(), (x, kv) =>
        {
            x.Write(kv.Key);
            x.Write(kv.Value);
        });
    }

    private static RoundSummary ReadSummary(BinaryReader r)
    {
        var round = r.ReadInt32();
        var lists = Enumerable.Range(0, 8).Select(_ => ReadList(r, x => x.ReadString())).ToArray();
        return new RoundSummary
        {
            Round = round, Selected = lists[0], Accepted = lists[1], Aggregated = lists[2], Dropped = lists[3], Lost = lists[4], Late = lists[5],
            Rejected = lists[6], Surplus = lists[7],
            MeanLoss = r.ReadDouble(), BytesDown = r.ReadInt64(), BytesUp = r.ReadInt64(), WallSeconds = r.ReadDouble(),
            StaleReplies = r.ReadInt32(), UnexpectedReplies = r.ReadInt32(), DuplicateReplies = r.ReadInt32(), Skipped = r.ReadBoolean(),
            GlobalHash = r.ReadString(), Evaluation = ReadList(r, x => KeyValuePair.Create(x.ReadString(), x.ReadDouble())).ToDictionary(),
            SimulatedSeconds = r.ReadDouble(), SimulatedClock = r.ReadDouble(), Attempts = r.ReadInt32(),
            Traffic = ReadList(r, x => new ClientTraffic(x.ReadString(), x.ReadString(), x.ReadString(), x.ReadInt64())),
            AggregationWeights = ReadList(r, x => KeyValuePair.Create(x.ReadString(), x.ReadDouble())).ToDictionary(StringComparer.Ordinal),
        };
    }

    private static void WriteStateSummary(BinaryWriter w, LocalStateSummary s)
    {
        w.Write(s.OptimizerSteps);
        w.Write(s.QueuePointer);
        w.Write(s.QueueChecksum);
        w.Write(s.OptimizerStateChecksum);
        WriteList(w, s.RngState, (x, v) => x.Write(v));
    }

    private static LocalStateSummary ReadStateSummary(BinaryReader r) =>
        new(r.ReadInt64(), r.ReadInt64(), r.ReadString(), r.ReadString(), ReadList(r, x => x.ReadUInt64()).ToArray());

    private static void WriteDeviceUsage(BinaryWriter w, DeviceUsage u)
    {
        w.Write(u.Device);
        w.Write(u.Slots);
        w.Write(u.Leased);
        w.Write(u.Grants);
        w.Write(u.BusySeconds);
        w.Write(u.WallSeconds);
    }

    private static DeviceUsage ReadDeviceUsage(BinaryReader r) =>
        new(r.ReadString(), r.ReadInt32(), r.ReadInt32(), r.ReadInt64(), r.ReadDouble(), r.ReadDouble());

    private void WriteWeightsRef(BinaryWriter w, WeightsRef m)
    {
        w.Write(m.ContentHash);
        w.Write(m.PayloadBytes);
        WriteRef(w, m.Owner);
        w.Write(m.BulkEndpoint ?? "");
    }

    private WeightsRef ReadWeightsRef(BinaryReader r) =>
        new(r.ReadString(), r.ReadInt64(), ReadRef(r), r.ReadString() is { Length: > 0 } bulk ? bulk : null);

    private static void WriteWeights(BinaryWriter w, ModelWeights weights)
    {
        w.Flush();
        weights.WriteTo(w.BaseStream);
    }

    /// <summary>
    /// Checks the content hash on arrival: a corrupted payload fails naming the message kind.
    /// With <paramref name="verifyHash"/> false (uploads) it arrives with its declared hash, and the
    /// coordinator rejects it with a reason, so a corrupted update is counted rather than vanishing.
    /// </summary>
    private static ModelWeights ReadWeights(BinaryReader r, string messageKind, bool verifyHash = true)
    {
        try
        {
            return ModelWeights.ReadFrom(r.BaseStream, messageKind, verifyHash ? StoredHash.Verify : StoredHash.Declare);
        }
        catch (Exception e) when (e is InvalidDataException or ArgumentException)
        {
            throw new SerializationException($"FedActorsSerializer: weights in a {messageKind}: {e.Message}", e);
        }
    }

    private static void WriteRef(BinaryWriter w, IActorRef actor) => w.Write(Akka.Serialization.Serialization.SerializedActorPath(actor));

    private IActorRef ReadRef(BinaryReader r) => system.Provider.ResolveActorRef(r.ReadString());

    private static byte[] ReadBytes(BinaryReader r)
    {
        var length = r.ReadInt32();
        if (length < 0 || length > r.BaseStream.Length - r.BaseStream.Position) throw new EndOfStreamException();
        return r.ReadBytes(length);
    }

    private static void WriteOptional<T>(BinaryWriter w, T? value, Action<BinaryWriter, T> write) where T : class
    {
        w.Write(value is not null);
        if (value is not null) write(w, value);
    }

    private static T? ReadOptional<T>(BinaryReader r, Func<BinaryReader, T> read) where T : class =>
        r.ReadBoolean() ? read(r) : null;

    private static void WriteList<T>(BinaryWriter w, IReadOnlyCollection<T> items, Action<BinaryWriter, T> write)
    {
        w.Write(items.Count);
        foreach (var item in items) write(w, item);
    }

    private static List<T> ReadList<T>(BinaryReader r, Func<BinaryReader, T> read)
    {
        var count = r.ReadInt32();
        if (count < 0 || count > r.BaseStream.Length - r.BaseStream.Position) throw new EndOfStreamException();
        var items = new List<T>(count);
        for (var i = 0; i < count; i++) items.Add(read(r));
        return items;
    }
}
