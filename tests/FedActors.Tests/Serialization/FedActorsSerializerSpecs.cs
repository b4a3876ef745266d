using System.Collections;
using System.Reflection;
using System.Runtime.Serialization;
using Akka.Actor;
using FedActors.Actors.Protocol;
using FedActors.Actors.Serialization;
using FedActors.Tests.Actors;
using FedActors.Training.Data;
using FedActors.Training.Methods;
using FedActors.Training.Objectives;
using FedActors.Training.Weights;
using Xunit.Abstractions;

namespace FedActors.Tests.Serialization;

public class FedActorsSerializerSpecs(ITestOutputHelper output) : ActorSpec(1, output)
{
    private static readonly ModelWeights Weights = new([
        new WeightTensor("encoder.conv.weight", [2, 3], [1, -2, 3.5f, 4, 5, float.Epsilon]),
        new WeightTensor("encoder.bn.num_batches_tracked", [1], [7]),
    ]);

    private static readonly RoundSummary Summary = new()
    {
        Round = 3, Selected = ["hospital-01", "hospital-02", "hospital-03", "hospital-04", "hospital-05", "hospital-06", "hospital-07"],
        Accepted = ["hospital-01"], Aggregated = [], Dropped = ["hospital-02"], Lost = ["hospital-03"], Late = ["hospital-04"],
        Rejected = ["hospital-05"], Surplus = ["hospital-06", "hospital-07"], MeanLoss = 0.25, BytesDown = 1000, BytesUp = 2000, WallSeconds = 1.5,
        StaleReplies = 1, UnexpectedReplies = 2, DuplicateReplies = 3, Skipped = true, GlobalHash = Weights.ContentHash,
        Evaluation = new Dictionary<string, double> { ["probe-accuracy"] = 0.9, ["balanced-accuracy"] = 0.8 },
        SimulatedSeconds = 12.5, SimulatedClock = 40.25, Attempts = 2, LocalSteps = 1234,
        Traffic = [new ClientTraffic("hospital-01", ClientTraffic.Down, PayloadKinds.Weights, 32), new ClientTraffic("hospital-01", ClientTraffic.Up, PayloadKinds.Scalar, 8)],
        AggregationWeights = new Dictionary<string, double> { ["hospital-01"] = 1 },
        AggregationFactors = new Dictionary<string, double> { ["hospital-01"] = 0.375 },
    };

    private static readonly MethodPayloads Broadcast = MethodPayloads.Of(
        ("site-statistics", new StatisticsPayload([new SiteStatistics("hospital-01", 0.4, 0.2), new SiteStatistics("hospital-02", 0.5, 0.1, [0.25, 0.75])])));

    private static readonly MethodPayloads Extras = MethodPayloads.Of(
        ("rsa-rho", new ScalarPayload(0.625)),
        ("features", new FeaturesPayload([1, 2, 3, 4, 5, 6], 3, [0, 2], "hospital-01")));

    /// <summary>One instance of every protocol message, every field set to something other than its default.</summary>
    private IEnumerable<IFedActorsMessage> Samples() =>
    [
        StartRun.Instance,
        new RoundClosed(Summary),
        new RoundProgress(3, 2, 10, 4, 5, 1),
        new RunCompleted(Weights, [Summary, Summary with { Round = 4, MeanLoss = double.NaN, Evaluation = new Dictionary<string, double>() }]),
        new SubscribeToRun(TestActor),
        new RunEvent(3, 2, RunEventKinds.Dropped, "hospital-04", "random dropout (p = 0.3) before training", 17.5),
        new RunEvent(3, 1, RunEventKinds.RoundSkipped, null, "2 of the 3 updates required", 30),
        new CrashNode("worker-2", 4),
        new CoordinatorSnapshot(3, Weights, 40.25, [Summary, Summary with { Round = 4 }], "fedmoco", [1, 2, 3]),
        new TrainRoundByRef(2, new WeightsRef(Weights.ContentHash, Weights.PayloadBytes, TestActor), Broadcast)
        {
            RequestToken = ulong.MaxValue - 5, Malice = new FedActors.Actors.Faults.Malice(FedActors.Actors.Faults.MaliceKind.Noise, 0.25, 0xFEDCBA9876543210),
        },
        new LocalUpdateByRef(2, "hospital-01", new WeightsRef(Weights.ContentHash, Weights.PayloadBytes, TestActor), 48, 0.7, 6, 0.3, Extras)
        {
            RequestToken = 0x0123456789ABCDEF,
        },
        GetLocalState.Instance,
        StopHospital.Instance,
        new LocalStateReport("hospital-01", 2, 1, new LocalStateSummary(12, 4, "queue", "optimiser", [1, 2, ulong.MaxValue])),
        new LocalStateReport("hospital-02", 0, 0, null),
        new HospitalSnapshot("hospital-01", 3, [0x46, 0x41, 0, 255, 7], 48, 0.7, 6, 0.3, Extras),
        new WeightsRef(Weights.ContentHash, Weights.PayloadBytes, TestActor),
        new WeightsRef(Weights.ContentHash, Weights.PayloadBytes, TestActor, "node-2:4711") { BulkToken = [9, 8, 7, 0, 255] },
        new AdmissionChallenge([1, 2, 3, 0, 255]),
        new AdmissionProof("run-7", "fingerprint", [4, 5, 6]),
        new AdmissionDenied("its proof does not match this cluster's secret"),
        new FetchChunk(Weights.ContentHash, 262144, 1024),
        new WeightsChunk(Weights.ContentHash, 5, 100, [1, 2, 3]),
        new HospitalTrainingFailed(3, "hospital-02", "out of memory") { RequestToken = 0xFEEDFACE12345678 },
        new RequestLease("hospital-03", 3L << 30),
        new LeaseRefused("hospital-03 needs 3072 MB"),
        new WeightsNotOffered(Weights.ContentHash),
        new ReleaseWeights(Weights.ContentHash),
        new RequestLease("hospital-01"),
        new LeaseGranted(41, "cuda:1"),
        new ReleaseLease(41),
        GetDeviceUtilisation.Instance,
        new DeviceUtilisation([new DeviceUsage("cuda:0", 2, 1, 9, 12.5, 30), new DeviceUsage("cpu", 1, 0, 0, 0, 30)], 3, 5),
    ];

    private FedActorsSerializer Serializer => Assert.IsType<FedActorsSerializer>(Sys.Serialization.FindSerializerForType(typeof(StartRun)));

    private object RoundTrip(object message)
    {
        Assert.IsType<FedActorsSerializer>(Sys.Serialization.FindSerializerFor(message));
        return Serializer.FromBinary(Serializer.ToBinary(message), Serializer.Manifest(message));
    }

    [Fact]
    public void Should_round_trip_every_protocol_message_field_by_field()
    {
        foreach (var message in Samples()) AssertStructurallyEqual(message, RoundTrip(message), message.GetType().Name);
    }

    [Fact]
    public void Should_have_a_round_trip_case_and_a_manifest_for_every_protocol_message_type()
    {
        var protocol = typeof(IFedActorsMessage).Assembly.GetTypes()
            .Where(t => typeof(IFedActorsMessage).IsAssignableFrom(t) && t is { IsAbstract: false, IsInterface: false })
            .ToHashSet();
        var sampled = Samples().Select(m => m.GetType()).ToHashSet();
        Assert.True(protocol.SetEquals(sampled),
            $"Messages without a round-trip case: [{string.Join(", ", protocol.Except(sampled).Select(t => t.Name))}]");
        Assert.True(protocol.SetEquals(Serializer.Manifests.Keys),
            $"Messages without a manifest: [{string.Join(", ", protocol.Except(Serializer.Manifests.Keys).Select(t => t.Name))}]");
        Assert.Equal(protocol.Count, Serializer.Manifests.Values.Distinct().Count());
    }

    [Fact]
    public void Should_resolve_a_serialised_actor_ref_to_the_same_actor()
    {
        var message = (SubscribeToRun)RoundTrip(new SubscribeToRun(TestActor));
        message.Listener.Tell("hello");
        ExpectMsg("hello");
    }

    [Fact]
    public void Should_pass_every_message_of_an_actor_spec_through_the_serializer()
    {
        var sent = new RunCompleted(Weights, [Summary]);
        TestActor.Tell(sent);
        var received = ExpectMsg<RunCompleted>();
        Assert.NotSame(sent.FinalGlobal, received.FinalGlobal); // a deserialised copy, as between nodes
        Assert.Equal(sent.FinalGlobal.ContentHash, received.FinalGlobal.ContentHash);
    }

    [Fact]
    public void Should_reject_an_unknown_manifest_with_its_reason()
    {
        var e = Assert.Throws<SerializationException>(() => Serializer.FromBinary([], "XX"));
        Assert.Contains("unknown manifest 'XX'", e.Message);
        Assert.Contains("fedactors.wire.v1.", e.Message);
        // What a node or a snapshot of the positional format before the wire schema sends: named as such.
        var old = Assert.Throws<SerializationException>(() => Serializer.FromBinary([1, 2, 3], "CS2"));
        Assert.Contains("'CS2'", old.Message);
        Assert.Contains("before the wire schema", old.Message);
    }

    [Fact]
    public void Should_name_the_manifests_after_the_versioned_schema()
    {
        Assert.All(Serializer.Manifests.Values, m => Assert.StartsWith("fedactors.wire.v1.", m));
        Assert.Equal("fedactors.wire.v1.TrainRound", Serializer.Manifests[typeof(TrainRoundByRef)]);
        Assert.Equal("fedactors.wire.v1.CoordinatorSnapshot", Serializer.Manifests[typeof(CoordinatorSnapshot)]);
    }

    [Fact]
    public void Should_reject_weights_corrupted_in_transit_naming_the_message()
    {
        var message = new RunCompleted(Weights, []);
        var bytes = Serializer.ToBinary(message);
        bytes[bytes.AsSpan().IndexOf(BitConverter.GetBytes(3.5f))] ^= 0x10; // inside a tensor's values
        var e = Assert.Throws<SerializationException>(() => Serializer.FromBinary(bytes, Serializer.Manifest(message)));
        Assert.Contains("RunCompleted", e.Message);
        Assert.Contains("hash mismatch", e.Message);
    }

    [Fact]
    public void Should_reject_a_truncated_message()
    {
        var message = new LocalUpdateByRef(2, "hospital-01", new WeightsRef(Weights.ContentHash, Weights.PayloadBytes, TestActor), 48, 0.7, 6, 0.3);
        var bytes = Serializer.ToBinary(message)[..^3];
        var e = Assert.Throws<SerializationException>(() => Serializer.FromBinary(bytes, Serializer.Manifest(message)));
        Assert.Contains("'fedactors.wire.v1.LocalUpdate'", e.Message);
    }

    /// <summary>Field 4 (data, length-delimited) of a weights chunk declaring <paramref name="declared"/> bytes, followed by only 16.</summary>
    private static byte[] InflatedChunk(uint declared)
    {
        var bytes = new List<byte> { 0x0A, 1, (byte)'h', 0x22 }; // content_hash = "h", then the data field's tag
        for (var v = declared; ; v >>= 7)
        {
            if (v < 0x80)
            {
                bytes.Add((byte)v);
                break;
            }
            bytes.Add((byte)(v | 0x80));
        }
        bytes.AddRange(new byte[16]);
        return bytes.ToArray();
    }

    [Fact]
    public void Should_reject_a_length_larger_than_the_message_without_allocating_it()
    {
        var manifest = Serializer.Manifests[typeof(WeightsChunk)];
        Serializer.FromBinary(Serializer.ToBinary(new WeightsChunk("h", 0, 1, [1])), manifest); // warm: the parser's own first-use allocations
        var before = GC.GetAllocatedBytesForCurrentThread();
        var e = Assert.Throws<SerializationException>(() => Serializer.FromBinary(InflatedChunk(2_000_000_000), manifest));
        var allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.Contains("'fedactors.wire.v1.WeightsChunk'", e.Message);
        Assert.True(allocated < 1_000_000, $"refusing a declared 2 GB allocated {allocated} bytes");

        // A repeated count that the bytes cannot hold: a packed shape of 1 GB in a tensor of a few bytes.
        var tensor = new byte[] { 0x0A, 0x01, (byte)'w', 0x12, 0x80, 0x80, 0x80, 0x80, 0x04 }; // name "w", then a packed shape of 2^30 bytes
        byte[] runCompleted = [0x0A, 11, 0x0A, 9, .. tensor]; // final_global { tensors[0] { … } }
        var before2 = GC.GetAllocatedBytesForCurrentThread();
        var shape = Assert.Throws<SerializationException>(() => Serializer.FromBinary(runCompleted, Serializer.Manifests[typeof(RunCompleted)]));
        Assert.True(GC.GetAllocatedBytesForCurrentThread() - before2 < 1_000_000);
        Assert.Contains("RunCompleted", shape.Message);
    }

    [Fact]
    public void Should_refuse_a_message_over_the_configured_cap_naming_it()
    {
        using var capped = ActorSystem.Create("capped", Akka.Configuration.ConfigurationFactory.ParseString(
            $"{FedActorsSerializer.MaxMessageBytesKey} = 1000\n{FedActorsSerializer.Hocon}"));
        var serializer = Assert.IsType<FedActorsSerializer>(capped.Serialization.FindSerializerForType(typeof(WeightsChunk)));
        var message = new WeightsChunk("h", 0, 2000, new byte[2000]);
        var e = Assert.Throws<SerializationException>(() => serializer.FromBinary(serializer.ToBinary(message), serializer.Manifest(message)));
        Assert.Contains(FedActorsSerializer.MaxMessageBytesKey, e.Message);
        Assert.Contains("WeightsChunk", e.Message);
    }

    [Fact]
    public void Should_read_a_message_from_a_newer_schema_skipping_its_unknown_fields()
    {
        foreach (var message in Samples())
        {
            // What a newer schema's writer adds: field 99 (a varint) and field 100 (a string), unknown to this version.
            byte[] newer = [.. Serializer.ToBinary(message), 0x98, 0x06, 0x2A, 0xA2, 0x06, 0x03, (byte)'n', (byte)'e', (byte)'w'];
            AssertStructurallyEqual(message, Serializer.FromBinary(newer, Serializer.Manifest(message)), message.GetType().Name);
        }
    }

    [Fact]
    public void Should_carry_large_tensors_as_little_endian_bytes_not_one_field_per_value()
    {
        var large = new ModelWeights([new WeightTensor("w", [100_000], Enumerable.Range(0, 100_000).Select(i => i * 0.5f).ToArray())]);
        var bytes = Serializer.ToBinary(new RunCompleted(large, []));
        Assert.InRange(bytes.Length, large.PayloadBytes, large.PayloadBytes + 200);
        var back = (RunCompleted)Serializer.FromBinary(bytes, Serializer.Manifests[typeof(RunCompleted)]);
        Assert.Equal(large.Tensors[0].Values, back.FinalGlobal.Tensors[0].Values);
    }

    [Fact]
    public void Should_name_a_snapshot_file_written_before_the_wire_schema()
    {
        var dir = Directory.CreateTempSubdirectory("fedactors-snapshots-").FullName;
        // What Akka.Persistence's local store writes: its snapshot wrapper around this serializer's bytes and manifest.
        var store = new Akka.Persistence.Serialization.PersistenceSnapshotSerializer((ExtendedActorSystem)Sys);
        var current = new CoordinatorSnapshot(3, Weights, 40.25, [Summary], "fedmoco", [1, 2, 3]);
        File.WriteAllBytes(Path.Combine(dir, "snapshot-coordinator-0-1"), store.ToBinary(new Akka.Persistence.Serialization.Snapshot(current)));
        Assert.Null(SnapshotFiles.FindUnreadable(dir));

        // The same wrapper around the positional format's coordinator snapshot (manifest "CS2").
        using var buffer = new MemoryStream();
        var output = new Google.Protobuf.CodedOutputStream(buffer);
        output.WriteTag(1, Google.Protobuf.WireFormat.WireType.Varint);
        output.WriteInt32(FedActorsSerializer.Id);
        output.WriteTag(2, Google.Protobuf.WireFormat.WireType.LengthDelimited);
        output.WriteBytes(Google.Protobuf.ByteString.CopyFrom(3, 0, 0, 0, 0x46, 0x41, 0x57, 0x54));
        output.WriteTag(3, Google.Protobuf.WireFormat.WireType.LengthDelimited);
        output.WriteBytes(Google.Protobuf.ByteString.CopyFromUtf8("CS2"));
        output.Flush();
        var old = Path.Combine(dir, "snapshot-coordinator-0-2");
        File.WriteAllBytes(old, buffer.ToArray());

        var reason = SnapshotFiles.FindUnreadable(dir);
        Assert.NotNull(reason);
        Assert.Contains(old, reason);
        Assert.Contains("'CS2'", reason);
        Assert.Contains("before the wire schema", reason);
        Directory.Delete(dir, recursive: true);
    }

    /// <summary>Field-by-field equality: records hold lists and dictionaries, whose own Equals compares references.</summary>
    private static void AssertStructurallyEqual(object? expected, object? actual, string path)
    {
        switch (expected)
        {
            case null:
                Assert.True(actual is null, $"{path}: expected null, got {actual}");
                return;
            case ModelWeights w:
                Assert.Equal(w.ContentHash, Assert.IsType<ModelWeights>(actual).ContentHash);
                return;
            case MethodPayloads payloads:
                var gotPayloads = Assert.IsType<MethodPayloads>(actual);
                Assert.Equal(payloads.Names, gotPayloads.Names);
                foreach (var (name, payload) in payloads.Parts)
                    AssertStructurallyEqual(payload, gotPayloads.Parts.Single(p => p.Key == name).Value, $"{path}[{name}]");
                return;
            case System.Runtime.CompilerServices.ITuple tuple:
                var gotTuple = Assert.IsAssignableFrom<System.Runtime.CompilerServices.ITuple>(actual);
                Assert.Equal(tuple.Length, gotTuple.Length);
                for (var i = 0; i < tuple.Length; i++) AssertStructurallyEqual(tuple[i], gotTuple[i], $"{path}.Item{i + 1}");
                return;
            case string or IActorRef or ValueType:
                Assert.True(Equals(expected, actual), $"{path}: expected {expected}, got {actual}");
                return;
            case IDictionary dictionary:
                var other = Assert.IsAssignableFrom<IDictionary>(actual);
                Assert.Equal(dictionary.Count, other.Count);
                foreach (DictionaryEntry entry in dictionary) AssertStructurallyEqual(entry.Value, other[entry.Key], $"{path}[{entry.Key}]");
                return;
            case IEnumerable sequence:
                var items = sequence.Cast<object>().ToList();
                var actualItems = Assert.IsAssignableFrom<IEnumerable>(actual).Cast<object>().ToList();
                Assert.True(items.Count == actualItems.Count, $"{path}: {items.Count} items, got {actualItems.Count}");
                for (var i = 0; i < items.Count; i++) AssertStructurallyEqual(items[i], actualItems[i], $"{path}[{i}]");
                return;
        }
        Assert.Equal(expected.GetType(), actual?.GetType());
        foreach (var property in expected.GetType().GetProperties(BindingFlags.Public | BindingFlags.Instance).Where(p => p.GetIndexParameters().Length == 0))
            AssertStructurallyEqual(property.GetValue(expected), property.GetValue(actual), $"{path}.{property.Name}");
    }
}
