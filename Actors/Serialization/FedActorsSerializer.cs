using System.Buffers;
using System.Buffers.Binary;
using System.Runtime.InteropServices;
using System.Runtime.Serialization;
using System.Text.RegularExpressions;
using Akka.Actor;
using Akka.Serialization;
using FedActors.Actors.Protocol;
using FedActors.Training.Data;
using FedActors.Training.Methods;
using FedActors.Training.Objectives;
using FedActors.Training.Weights;
using Google.Protobuf;
using Google.Protobuf.Collections;
using W = FedActors.Actors.Serialization.Wire;

namespace FedActors.Actors.Serialization;

/// <summary>
/// Serializer for every <see cref="IFedActorsMessage"/>, from the versioned wire schema
/// <c>Schema/fedactors_wire_v1.proto</c> (Protocol Buffers, package <c>fedactors.wire.v1</c>): each protocol record maps to
/// and from its generated message, field by name and number, and the manifest is that message's full name
/// (e.g. <c>fedactors.wire.v1.TrainRound</c>). A field added in a newer schema is skipped by older readers, so nodes of
/// neighbouring builds still understand each other; a change that must not be skipped gets a new schema version and new
/// manifests. An unknown manifest, a malformed or truncated payload, a length larger than what follows, or a message over
/// <see cref="MaxMessageBytesKey"/> is refused with a <see cref="SerializationException"/> naming the manifest and the
/// problem (Akka.Remote logs it and drops the message), never a crash and never an allocation of a declared size.
/// Weights travel as named tensors whose values are little-endian float32 <c>bytes</c>, with their content hash, checked
/// on arrival.
/// </summary>
public sealed class FedActorsSerializer : SerializerWithStringManifest
{
    /// <summary>The serializer's identifier in Akka's serialization registry.</summary>
    public const int Id = 417;

    /// <summary>The largest message it reads, in bytes (config key; default <see cref="DefaultMaxMessageBytes"/>).</summary>
    public const string MaxMessageBytesKey = "fedactors.serialization.max-message-bytes";

    /// <summary>
    /// 1 GiB: far above any remoting frame, enough for a snapshot of a ResNet-18 hospital's state (over 100 MB), far
    /// below what a corrupted length could ask for.
    /// </summary>
    public const long DefaultMaxMessageBytes = 1L << 30;

    /// <summary>Binds the serializer to the marker interface; include it in every ActorSystem.</summary>
    public const string Hocon = """
        akka.actor {
          serializers.fedactors = "FedActors.Actors.Serialization.FedActorsSerializer, FedActors.Actors"
          serialization-bindings {
            "FedActors.Actors.Protocol.IFedActorsMessage, FedActors.Actors" = fedactors
          }
        }
        """;

    private sealed record Binding(string Manifest, Func<object, IMessage> ToWire, MessageParser Parser, Func<IMessage, object> FromWire);

    private readonly Dictionary<Type, Binding> _byType = new();
    private readonly Dictionary<string, Binding> _byManifest = new(StringComparer.Ordinal);
    private readonly long _maxMessageBytes;

    /// <summary>Made by Akka's serialization extension, once per ActorSystem.</summary>
    public FedActorsSerializer(ExtendedActorSystem system) : base(system)
    {
        _maxMessageBytes = system.Settings.Config.GetLong(MaxMessageBytesKey, DefaultMaxMessageBytes);
        if (_maxMessageBytes <= 0) throw new ArgumentException($"{MaxMessageBytesKey} = {_maxMessageBytes}: must be positive.");

        Register<StartRun, W.Empty>(W.Empty.Parser, _ => new W.Empty(), _ => StartRun.Instance, "StartRun");
        Register<RoundProgress, W.RoundProgress>(W.RoundProgress.Parser,
            m => new W.RoundProgress
            {
                Round = m.Round, Attempt = m.Attempt, Selected = m.Selected, Training = m.Training, Accepted = m.Accepted, Dropped = m.Dropped,
            },
            p => new RoundProgress(p.Round, p.Attempt, p.Selected, p.Training, p.Accepted, p.Dropped));
        Register<RoundClosed, W.RoundClosed>(W.RoundClosed.Parser,
            m => new W.RoundClosed { Summary = ToWire(m.Summary) },
            p => new RoundClosed(FromWire(Required(p.Summary, "summary"))));
        Register<RunCompleted, W.RunCompleted>(W.RunCompleted.Parser,
            m => new W.RunCompleted { FinalGlobal = ToWire(m.FinalGlobal), Rounds = { m.Rounds.Select(ToWire) } },
            p => new RunCompleted(FromWire(Required(p.FinalGlobal, "final_global"), "final_global"), p.Rounds.Select(FromWire).ToList()));
        Register<RunEvent, W.RunEvent>(W.RunEvent.Parser,
            m =>
            {
                var e = new W.RunEvent { Round = m.Round, Attempt = m.Attempt, Kind = m.Kind, Reason = m.Reason, SimulatedSeconds = m.SimulatedSeconds };
                if (m.HospitalId is not null) e.HospitalId = m.HospitalId;
                return e;
            },
            p => new RunEvent(p.Round, p.Attempt, p.Kind, p.HasHospitalId ? p.HospitalId : null, p.Reason, p.SimulatedSeconds));
        Register<CoordinatorSnapshot, W.CoordinatorSnapshot>(W.CoordinatorSnapshot.Parser,
            m => new W.CoordinatorSnapshot
            {
                CompletedRound = m.CompletedRound, Global = ToWire(m.Global), SimulatedClock = m.SimulatedClock, History = { m.History.Select(ToWire) },
                Method = m.Method, MethodState = UnsafeByteOperations.UnsafeWrap(m.MethodState),
            },
            p => new CoordinatorSnapshot(p.CompletedRound, FromWire(Required(p.Global, "global"), "global"), p.SimulatedClock,
                p.History.Select(FromWire).ToList(), p.Method, Bytes(p.MethodState)));
        Register<CrashNode, W.CrashNode>(W.CrashNode.Parser, m => new W.CrashNode { Node = m.Node, Round = m.Round }, p => new CrashNode(p.Node, p.Round));
        Register<SubscribeToRun, W.SubscribeToRun>(W.SubscribeToRun.Parser,
            m => new W.SubscribeToRun { Listener = PathOf(m.Listener) }, p => new SubscribeToRun(Resolve(p.Listener)));
        Register<TrainRoundByRef, W.TrainRound>(W.TrainRound.Parser,
            m => new W.TrainRound { Round = m.Round, Global = ToWire(m.Global), Broadcast = { ToWire(m.Broadcast) }, RequestToken = m.RequestToken,
                Malice = m.Malice is { } x ? new W.Malice { Kind = (int)x.Kind, Parameter = x.Parameter, Seed = x.Seed } : null },
            p => new TrainRoundByRef(p.Round, FromWire(Required(p.Global, "global")), FromWire(p.Broadcast, "broadcast")) {
                RequestToken = p.RequestToken,
                Malice = p.Malice is { } x ? new Actors.Faults.Malice(Enum.IsDefined((Actors.Faults.MaliceKind)x.Kind) ? (Actors.Faults.MaliceKind)x.Kind
                    : throw new InvalidDataException($"unknown malice kind {x.Kind}"), x.Parameter, x.Seed) : null,
            });
        Register<LocalUpdateByRef, W.LocalUpdate>(W.LocalUpdate.Parser,
            m => new W.LocalUpdate
            {
                Round = m.Round, HospitalId = m.HospitalId, Weights = ToWire(m.Weights), Samples = m.Samples, MeanLoss = m.MeanLoss, Steps = m.Steps,
                ComputeSeconds = m.ComputeSeconds, Extras = { ToWire(m.Extras) }, Node = m.Node ?? "", RestoredFromRound = m.RestoredFromRound,
                RequestToken = m.RequestToken,
            },
            p => new LocalUpdateByRef(p.Round, p.HospitalId, FromWire(Required(p.Weights, "weights")), p.Samples, p.MeanLoss, p.Steps, p.ComputeSeconds,
                FromWire(p.Extras, "extras")) { Node = p.Node.Length == 0 ? null : p.Node, RestoredFromRound = p.RestoredFromRound, RequestToken = p.RequestToken });
        Register<HospitalTrainingFailed, W.HospitalTrainingFailed>(W.HospitalTrainingFailed.Parser,
            m => new W.HospitalTrainingFailed { Round = m.Round, HospitalId = m.HospitalId, Reason = m.Reason, RequestToken = m.RequestToken },
            p => new HospitalTrainingFailed(p.Round, p.HospitalId, p.Reason) { RequestToken = p.RequestToken });
        Register<GetLocalState, W.Empty>(W.Empty.Parser, _ => new W.Empty(), _ => GetLocalState.Instance, "GetLocalState");
        Register<StopHospital, W.Empty>(W.Empty.Parser, _ => new W.Empty(), _ => StopHospital.Instance, "StopHospital");
        Register<LocalStateReport, W.LocalStateReport>(W.LocalStateReport.Parser,
            m => new W.LocalStateReport
            {
                HospitalId = m.HospitalId, LastRound = m.LastRound, SavedRound = m.SavedRound,
                State = m.State is { } s
                    ? new W.LocalStateSummary
                    {
                        OptimizerSteps = s.OptimizerSteps, QueuePointer = s.QueuePointer, QueueChecksum = s.QueueChecksum,
                        OptimizerStateChecksum = s.OptimizerStateChecksum, RngState = { s.RngState },
                    }
                    : null,
            },
            p => new LocalStateReport(p.HospitalId, p.LastRound, p.SavedRound, p.State is { } s
                ? new LocalStateSummary(s.OptimizerSteps, s.QueuePointer, s.QueueChecksum, s.OptimizerStateChecksum, s.RngState.ToArray())
                : null));
        Register<HospitalSnapshot, W.HospitalSnapshot>(W.HospitalSnapshot.Parser,
            m => new W.HospitalSnapshot
            {
                HospitalId = m.HospitalId, LastRound = m.LastRound, LearnerState = UnsafeByteOperations.UnsafeWrap(m.LearnerState), Samples = m.Samples,
                MeanLoss = m.MeanLoss, Steps = m.Steps, ComputeSeconds = m.ComputeSeconds, Extras = { ToWire(m.Extras) },
            },
            p => new HospitalSnapshot(p.HospitalId, p.LastRound, Bytes(p.LearnerState), p.Samples, p.MeanLoss, p.Steps, p.ComputeSeconds,
                FromWire(p.Extras, "extras")));
        Register<WeightsRef, W.WeightsRef>(W.WeightsRef.Parser, ToWire, FromWire);
        Register<AdmissionChallenge, W.AdmissionChallenge>(W.AdmissionChallenge.Parser,
            m => new W.AdmissionChallenge { Nonce = ByteString.CopyFrom(m.Nonce) }, p => new AdmissionChallenge(p.Nonce.ToByteArray()));
        Register<AdmissionProof, W.AdmissionProof>(W.AdmissionProof.Parser,
            m => new W.AdmissionProof { RunId = m.RunId, Experiment = m.Experiment, Mac = ByteString.CopyFrom(m.Mac) },
            p => new AdmissionProof(p.RunId, p.Experiment, p.Mac.ToByteArray()));
        Register<AdmissionDenied, W.AdmissionDenied>(W.AdmissionDenied.Parser, m => new W.AdmissionDenied { Reason = m.Reason }, p => new AdmissionDenied(p.Reason));
        Register<FetchChunk, W.FetchChunk>(W.FetchChunk.Parser,
            m => new W.FetchChunk { ContentHash = m.ContentHash, Offset = m.Offset, Length = m.Length },
            p => new FetchChunk(p.ContentHash, p.Offset, p.Length));
        Register<WeightsChunk, W.WeightsChunk>(W.WeightsChunk.Parser,
            m => new W.WeightsChunk { ContentHash = m.ContentHash, Offset = m.Offset, TotalBytes = m.TotalBytes, Data = UnsafeByteOperations.UnsafeWrap(m.Data) },
            p => new WeightsChunk(p.ContentHash, p.Offset, p.TotalBytes, Bytes(p.Data)));
        Register<WeightsNotOffered, W.WeightsNotOffered>(W.WeightsNotOffered.Parser,
            m => new W.WeightsNotOffered { ContentHash = m.ContentHash }, p => new WeightsNotOffered(p.ContentHash));
        Register<ReleaseWeights, W.ReleaseWeights>(W.ReleaseWeights.Parser,
            m => new W.ReleaseWeights { ContentHash = m.ContentHash }, p => new ReleaseWeights(p.ContentHash));
        Register<RequestLease, W.RequestLease>(W.RequestLease.Parser,
            m => new W.RequestLease { RequesterId = m.RequesterId, MemoryBytes = m.MemoryBytes }, p => new RequestLease(p.RequesterId, p.MemoryBytes));
        Register<LeaseRefused, W.LeaseRefused>(W.LeaseRefused.Parser, m => new W.LeaseRefused { Reason = m.Reason }, p => new LeaseRefused(p.Reason));
        Register<LeaseGranted, W.LeaseGranted>(W.LeaseGranted.Parser,
            m => new W.LeaseGranted { LeaseId = m.LeaseId, Device = m.Device }, p => new LeaseGranted(p.LeaseId, p.Device));
        Register<ReleaseLease, W.ReleaseLease>(W.ReleaseLease.Parser, m => new W.ReleaseLease { LeaseId = m.LeaseId }, p => new ReleaseLease(p.LeaseId));
        Register<GetDeviceUtilisation, W.Empty>(W.Empty.Parser, _ => new W.Empty(), _ => GetDeviceUtilisation.Instance, "GetDeviceUtilisation");
        Register<DeviceUtilisation, W.DeviceUtilisation>(W.DeviceUtilisation.Parser,
            m => new W.DeviceUtilisation
            {
                Devices =
                {
                    m.Devices.Select(d => new W.DeviceUsage
                    {
                        Device = d.Device, Slots = d.Slots, Leased = d.Leased, Grants = d.Grants, BusySeconds = d.BusySeconds, WallSeconds = d.WallSeconds,
                    }),
                },
                QueueLength = m.QueueLength, MaxQueueLength = m.MaxQueueLength,
            },
            p => new DeviceUtilisation(p.Devices.Select(d => new DeviceUsage(d.Device, d.Slots, d.Leased, d.Grants, d.BusySeconds, d.WallSeconds)).ToList(),
                p.QueueLength, p.MaxQueueLength));
    }

    /// <inheritdoc />
    public override int Identifier => Id;

    /// <summary>Every message type this serializer knows, with its manifest.</summary>
    public IReadOnlyDictionary<Type, string> Manifests => _byType.ToDictionary(kv => kv.Key, kv => kv.Value.Manifest);

    /// <inheritdoc />
    public override string Manifest(object o) => BindingOf(o).Manifest;

    /// <inheritdoc />
    public override byte[] ToBinary(object obj) => BindingOf(obj).ToWire(obj).ToByteArray();

    /// <inheritdoc />
    public override object FromBinary(byte[] bytes, string manifest)
    {
        if (!_byManifest.TryGetValue(manifest, out var binding))
            throw new SerializationException(
                $"FedActorsSerializer: unknown manifest '{manifest}' ({bytes.Length} bytes); " +
                (OldFormat.IsMatch(manifest)
                    ? "it is FedActors' positional format from before the wire schema (fedactors.wire.v1), which this version cannot read: " +
                      "written by an older FedActors (a node not yet upgraded, or a snapshot taken before the upgrade)."
                    : $"the sending node may run a different FedActors version (this one reads {Package}*)."));
        if (bytes.Length > _maxMessageBytes)
            throw new SerializationException(
                $"FedActorsSerializer: '{manifest}' message of {bytes.Length} bytes refused: over the {_maxMessageBytes} bytes of {MaxMessageBytesKey}.");
        IMessage wire;
        try
        {
            wire = binding.Parser.ParseFrom(bytes);
        }
        catch (InvalidProtocolBufferException e)
        {
            // Truncated, or a length or count larger than what follows: protobuf refuses before allocating it.
            throw new SerializationException($"FedActorsSerializer: malformed '{manifest}' message ({bytes.Length} bytes): {e.Message}", e);
        }
        try
        {
            return binding.FromWire(wire);
        }
        catch (Exception e) when (e is InvalidDataException or ArgumentException or OverflowException)
        {
            throw new SerializationException($"FedActorsSerializer: invalid '{manifest}' message ({bytes.Length} bytes): {e.Message}", e);
        }
    }

    private const string Package = "fedactors.wire.v1.";

    /// <summary>The manifests of the serializer before the wire schema: two or three capitals and a version digit ("CS2", "TRR2").</summary>
    private static readonly Regex OldFormat = new("^[A-Z]{2,3}[0-9]$", RegexOptions.CultureInvariant);

    /// <summary>Whether <paramref name="manifest"/> is of this version's wire schema (<c>fedactors.wire.v1.</c>).</summary>
    public static bool IsCurrentManifest(string manifest) => manifest.StartsWith(Package, StringComparison.Ordinal);

    /// <summary>Whether <paramref name="manifest"/> is of the positional format before the wire schema (e.g. "CS2").</summary>
    public static bool IsPreSchemaManifest(string manifest) => OldFormat.IsMatch(manifest);

    /// <summary>Binds the message type <typeparamref name="T"/> to its wire type <typeparamref name="TWire"/> under a manifest.</summary>
    /// <param name="parser">Parses the wire message.</param>
    /// <param name="toWire">Converts the message to its wire form.</param>
    /// <param name="fromWire">Converts the wire form back to the message.</param>
    /// <param name="manifest">Defaults to the wire message's full name; messages sharing a wire type (the empty ones) name themselves.</param>
    private void Register<T, TWire>(MessageParser<TWire> parser, Func<T, TWire> toWire, Func<TWire, T> fromWire, string? manifest = null)
        where T : IFedActorsMessage where TWire : IMessage<TWire>
    {
        var name = manifest is null ? parser.ParseFrom(ByteString.Empty).Descriptor.FullName : Package + manifest;
        var binding = new Binding(name, o => toWire((T)o), parser, w => fromWire((TWire)w)!);
        _byType.Add(typeof(T), binding);
        _byManifest.Add(name, binding);
    }

    private Binding BindingOf(object o) =>
        _byType.TryGetValue(o.GetType(), out var binding)
            ? binding
            : throw new SerializationException($"FedActorsSerializer: no wire message for {o.GetType().FullName}; add it to the schema and register it.");

    private static TWire Required<TWire>(TWire? field, string name) where TWire : class =>
        field ?? throw new InvalidDataException($"required field '{name}' is missing");

    /// <summary>A bytes field's array: the one protobuf parsed into, when it holds exactly that (no second copy).</summary>
    private static byte[] Bytes(ByteString bytes) =>
        MemoryMarshal.TryGetArray(bytes.Memory, out var segment) && segment.Offset == 0 && segment.Count == segment.Array!.Length
            ? segment.Array
            : bytes.ToByteArray();

    // ---- round summaries: one line per field, by name ----

    private static W.RoundSummary ToWire(RoundSummary s)
    {
        var w = new W.RoundSummary
        {
            Round = s.Round,
            Selected = { s.Selected },
            Accepted = { s.Accepted },
            Aggregated = { s.Aggregated },
            Dropped = { s.Dropped },
            Lost = { s.Lost },
            Late = { s.Late },
            Rejected = { s.Rejected },
            Surplus = { s.Surplus },
            MeanLoss = s.MeanLoss,
            BytesDown = s.BytesDown,
            BytesUp = s.BytesUp,
            WallSeconds = s.WallSeconds,
            StaleReplies = s.StaleReplies,
            UnexpectedReplies = s.UnexpectedReplies,
            DuplicateReplies = s.DuplicateReplies,
            NodesJoined = s.NodesJoined,
            NodesLost = s.NodesLost,
            HospitalsMoved = s.HospitalsMoved,
            HospitalsRestored = s.HospitalsRestored,
            PrivacyEpsilon = s.PrivacyEpsilon,
            Skipped = s.Skipped,
            GlobalHash = s.GlobalHash,
            SimulatedSeconds = s.SimulatedSeconds,
            SimulatedClock = s.SimulatedClock,
            Attempts = s.Attempts,
            LocalSteps = s.LocalSteps,
            Traffic = { s.Traffic.Select(t => new W.ClientTraffic { HospitalId = t.HospitalId, Direction = t.Direction, Kind = t.Kind, Bytes = t.Bytes }) },
        };
        AddAll(w.Evaluation, s.Evaluation);
        AddAll(w.AggregationWeights, s.AggregationWeights);
        AddAll(w.AggregationFactors, s.AggregationFactors);
        return w;
    }

    private static RoundSummary FromWire(W.RoundSummary w) => new()
    {
        Round = w.Round,
        Selected = w.Selected.ToList(),
        Accepted = w.Accepted.ToList(),
        Aggregated = w.Aggregated.ToList(),
        Dropped = w.Dropped.ToList(),
        Lost = w.Lost.ToList(),
        Late = w.Late.ToList(),
        Rejected = w.Rejected.ToList(),
        Surplus = w.Surplus.ToList(),
        MeanLoss = w.MeanLoss,
        BytesDown = w.BytesDown,
        BytesUp = w.BytesUp,
        WallSeconds = w.WallSeconds,
        StaleReplies = w.StaleReplies,
        UnexpectedReplies = w.UnexpectedReplies,
        DuplicateReplies = w.DuplicateReplies,
        NodesJoined = w.NodesJoined,
        NodesLost = w.NodesLost,
        HospitalsMoved = w.HospitalsMoved,
        HospitalsRestored = w.HospitalsRestored,
        PrivacyEpsilon = w.PrivacyEpsilon,
        Skipped = w.Skipped,
        GlobalHash = w.GlobalHash,
        Evaluation = w.Evaluation.ToDictionary(),
        SimulatedSeconds = w.SimulatedSeconds,
        SimulatedClock = w.SimulatedClock,
        Attempts = w.Attempts,
        LocalSteps = w.LocalSteps,
        Traffic = w.Traffic.Select(t => new ClientTraffic(t.HospitalId, t.Direction, t.Kind, t.Bytes)).ToList(),
        AggregationWeights = w.AggregationWeights.ToDictionary(StringComparer.Ordinal),
        AggregationFactors = w.AggregationFactors.ToDictionary(StringComparer.Ordinal),
    };

    /// <summary>In ordinal key order, so the same figures always make the same bytes.</summary>
    private static void AddAll(MapField<string, double> map, IReadOnlyDictionary<string, double>? values)
    {
        foreach (var (key, value) in (values ?? new Dictionary<string, double>()).OrderBy(kv => kv.Key, StringComparer.Ordinal)) map.Add(key, value);
    }

    // ---- weights ----

    private static W.Weights ToWire(ModelWeights weights)
    {
        var w = new W.Weights { ContentHash = weights.DeclaredHash ?? weights.ContentHash }; // relayed as declared: a corrupted payload must not look sound
        foreach (var t in weights.Tensors)
            w.Tensors.Add(new W.Tensor { Name = t.Name, Shape = { t.Shape }, Values = FloatBytes(t.Values) });
        return w;
    }

    /// <summary>Rebuilds weights and checks their content hash: a payload that does not match it is refused, naming <paramref name="field"/>.</summary>
    private static ModelWeights FromWire(W.Weights w, string field)
    {
        var tensors = new List<WeightTensor>(w.Tensors.Count);
        foreach (var t in w.Tensors) tensors.Add(new WeightTensor(t.Name, t.Shape.ToArray(), Floats(t.Values, $"{field}, tensor '{t.Name}'")));
        var weights = new ModelWeights(tensors);
        if (weights.ContentHash != w.ContentHash)
            throw new InvalidDataException($"{field}: content hash mismatch (stored {Short(w.ContentHash)}, computed {Short(weights.ContentHash)}).");
        return weights;
    }

    private static string Short(string hash) => hash.Length > 12 ? hash[..12] + "…" : hash;

    /// <summary>Float32 values as little-endian bytes: on a little-endian machine the array itself, wrapped, not copied.</summary>
    private static ByteString FloatBytes(float[] values)
    {
        if (BitConverter.IsLittleEndian) return UnsafeByteOperations.UnsafeWrap(new FloatMemory(values).Memory);
        var bytes = new byte[values.Length * sizeof(float)];
        for (var i = 0; i < values.Length; i++) BinaryPrimitives.WriteSingleLittleEndian(bytes.AsSpan(i * sizeof(float)), values[i]);
        return UnsafeByteOperations.UnsafeWrap(bytes);
    }

    private static float[] Floats(ByteString bytes, string what)
    {
        var span = bytes.Span;
        if (span.Length % sizeof(float) != 0) throw new InvalidDataException($"{what}: {span.Length} bytes are not whole float32 values.");
        var values = GC.AllocateUninitializedArray<float>(span.Length / sizeof(float)); // no bigger than what arrived
        if (BitConverter.IsLittleEndian) span.CopyTo(MemoryMarshal.AsBytes(values.AsSpan()));
        else
            for (var i = 0; i < values.Length; i++) values[i] = BinaryPrimitives.ReadSingleLittleEndian(span[(i * sizeof(float))..]);
        return values;
    }

    /// <summary>A float array seen as bytes, for <see cref="UnsafeByteOperations.UnsafeWrap"/> (the array is never written through it).</summary>
    private sealed class FloatMemory(float[] values) : MemoryManager<byte>
    {
        private GCHandle _pin;

        public override Span<byte> GetSpan() => MemoryMarshal.AsBytes(values.AsSpan());

        public override unsafe MemoryHandle Pin(int elementIndex = 0)
        {
            if (!_pin.IsAllocated) _pin = GCHandle.Alloc(values, GCHandleType.Pinned);
            return new MemoryHandle((byte*)_pin.AddrOfPinnedObject() + elementIndex, default, this);
        }

        public override void Unpin()
        {
            if (_pin.IsAllocated) _pin.Free();
        }

        protected override void Dispose(bool disposing) => Unpin();
    }

    // ---- references ----

    private W.WeightsRef ToWire(WeightsRef r) =>
        new()
        {
            ContentHash = r.ContentHash, PayloadBytes = r.PayloadBytes, Owner = PathOf(r.Owner), BulkEndpoint = r.BulkEndpoint ?? "",
            BulkToken = r.BulkToken is null ? ByteString.Empty : ByteString.CopyFrom(r.BulkToken),
        };

    private WeightsRef FromWire(W.WeightsRef r) =>
        new(r.ContentHash, r.PayloadBytes, Resolve(r.Owner), r.BulkEndpoint is { Length: > 0 } bulk ? bulk : null)
        {
            BulkToken = r.BulkToken.IsEmpty ? null : r.BulkToken.ToByteArray(),
        };

    private static string PathOf(IActorRef actor) => Akka.Serialization.Serialization.SerializedActorPath(actor);

    private IActorRef Resolve(string path) => system.Provider.ResolveActorRef(path);

    // ---- method payloads ----

    private static IEnumerable<W.Payload> ToWire(MethodPayloads? payloads) => (payloads ?? MethodPayloads.Empty).Parts.Select(part =>
    {
        var w = new W.Payload { Name = part.Key };
        switch (part.Value)
        {
            case ScalarPayload s:
                w.Scalar = s.Value;
                break;
            case StatisticsPayload s:
                w.Statistics = new W.Statistics
                {
                    Sites =
                    {
                        s.Sites.Select(site => new W.SiteStatistics
                        {
                            SiteId = site.SiteId, Mean = site.Mean, Std = site.Std,
                            Histogram = site.Histogram is { } bins ? new W.Histogram { Bins = { bins } } : null,
                        }),
                    },
                };
                break;
            case FeaturesPayload f:
                f.Validate();
                w.Features = new W.Features { Site = f.Site, Dimension = f.Dimension, Partitions = { f.Partitions }, Values = FloatBytes(f.Values) };
                break;
            case TargetWeightsPayload t:
                w.TargetWeights = ToWire(t.Weights);
                break;
            default:
                throw new SerializationException($"FedActorsSerializer: payload '{part.Key}': no wire message for {part.Value.GetType().Name}.");
        }
        return w;
    });

    private static MethodPayloads FromWire(RepeatedField<W.Payload> parts, string field)
    {
        var list = new List<KeyValuePair<string, Payload>>(parts.Count);
        foreach (var p in parts)
        {
            var what = $"{field}, payload '{p.Name}'";
            Payload payload = p.KindCase switch
            {
                W.Payload.KindOneofCase.Scalar => new ScalarPayload(p.Scalar),
                W.Payload.KindOneofCase.Statistics => new StatisticsPayload(
                    p.Statistics.Sites.Select(s => new SiteStatistics(s.SiteId, s.Mean, s.Std, s.Histogram?.Bins.ToArray())).ToList()),
                W.Payload.KindOneofCase.Features => Validated(new FeaturesPayload(Floats(p.Features.Values, what), p.Features.Dimension,
                    p.Features.Partitions.ToArray(), p.Features.Site)),
                W.Payload.KindOneofCase.TargetWeights => new TargetWeightsPayload(FromWire(p.TargetWeights, what)),
                _ => throw new InvalidDataException($"{what}: a kind this version does not know (from a newer schema?)."),
            };
            list.Add(KeyValuePair.Create(p.Name, payload));
        }
        return new MethodPayloads(list);
    }

    private static FeaturesPayload Validated(FeaturesPayload features)
    {
        features.Validate();
        return features;
    }
}
