using System.Collections;
using System.Globalization;
using System.Numerics;
using FedActors.Training.Data;
using FedActors.Training.Randomness;
using Razorvine.Pickle;
using Razorvine.Pickle.Objects;

namespace FedActors.Actors.Simulation;

// FedScale (github.com/SymbioticLab/FedScale, read at commit 7ec441c) publishes two client traces
// as Python pickles of a dict keyed by client id; their format, as FedScale's own code reads them:
//
// * benchmark/dataset/data/device_info/README.md documents both files:
//   client_device_capacity: { client-id: { 'computation': FP32, 'communication': FP32 } }
//   client_behave_trace:    { client-id: { 'duration': INT, 'inactive': [INT], 'finish_time': INT,
//                                          'active': [INT], 'model': STRING } }
// * fedscale/cloud/internal/client_metadata.py, ClientMetadata.is_active(cur_time) ("time in
//   seconds"): norm_time = cur_time % finish_time; the client is on while
//   active[k] <= norm_time <= inactive[k] (closed intervals), so the pattern repeats every
//   finish_time seconds. Only 'active', 'inactive' and 'finish_time' are read; 'duration' and
//   'model' are not used by FedScale's code.
// * the same file, get_completion_time: 'computation' is "the inference latency of models
//   (ms/sample)"; a training step costs augmentation_factor (3.0: backward ≈ 2× forward) ×
//   batch_size × computation / 1000 seconds; communication time = (upload + download) / communication,
//   with sizes from fedscale/cloud/aggregation/aggregator.py, run(): model_update_size =
//   sys.getsizeof(pickle.dumps(model)) / 1024.0 * 8.0 ("kbits"), so 'communication' is in units
//   of 1024 bits per second ("kbps").
// * aggregator.py, client_register_handler: client n's capacity is profiles.get(n % len(profiles)),
//   so capacity keys are integer client ids; client_manager.py, register_client: its behaviour is
//   user_trace[keys[n % len(user_trace)]], by position, so behaviour keys may be any ids.
// * aggregator.py, load_client_profile: pickle.load of the whole file; client_manager.py,
//   ClientManager.__init__: pickle.load of the behaviour trace (FedScale's files are pickle
//   protocol 4).

/// <summary>One client of FedScale's availability (behaviour) trace, <c>client_behave_trace</c>.</summary>
/// <param name="ClientId">The client's key in the file.</param>
/// <param name="Active">FedScale's <c>active</c>: the second (within one period) at which each on-stretch starts.</param>
/// <param name="Inactive">FedScale's <c>inactive</c>: the second at which the stretch of the same index ends.</param>
/// <param name="FinishTime">FedScale's <c>finish_time</c>: the period, in seconds, after which the pattern repeats.</param>
public sealed record FedScaleBehaviour(string ClientId, IReadOnlyList<double> Active, IReadOnlyList<double> Inactive, double FinishTime);

/// <summary>One client of FedScale's device capacity trace, <c>client_device_capacity</c>.</summary>
/// <param name="ClientId">The client's key in the file.</param>
/// <param name="ComputationMsPerSample">FedScale's <c>computation</c>: inference latency in milliseconds per sample.</param>
/// <param name="CommunicationKbps">FedScale's <c>communication</c>: bandwidth in FedScale's kbps (1024 bits per second).</param>
public sealed record FedScaleDeviceCapacity(string ClientId, double ComputationMsPerSample, double CommunicationKbps);

/// <summary>How hospitals are matched with FedScale client ids.</summary>
public enum FedScaleClientOrder
{
    /// <summary>Hospital i is the i-th client id in ascending order (integers by value), wrapping round when the trace has fewer clients.</summary>
    Ascending,
    /// <summary>Hospital i is the i-th of a permutation of the ascending client ids drawn from <c>SeededRandom.Derive(seed, "fedscale/clients")</c>, wrapping likewise.</summary>
    Seeded,
}

/// <summary>
/// Reads FedScale's published client traces as FedScale writes them (Python pickles) and maps
/// them onto an <see cref="AvailabilityTrace"/> and per-hospital <see cref="HospitalSystemOverride"/>s.
/// The files are untrusted: every problem is a <see cref="DataFormatException"/> naming the file,
/// the client and the field.
/// </summary>
public static class FedScaleTraces
{
    /// <summary>Largest trace file read (FedScale's own files are a few tens of MB).</summary>
    public const long MaxFileBytes = 512L * 1024 * 1024;
    /// <summary>Most clients in one file (FedScale's behaviour trace has about 10⁵, its capacity trace about 5·10⁵).</summary>
    public const int MaxClients = 5_000_000;
    /// <summary>Most on-intervals per client in a behaviour trace.</summary>
    public const int MaxIntervalsPerClient = 100_000;
    /// <summary>FedScale's augmentation_factor: a training step costs 3× the inference latency (client_metadata.py).</summary>
    public const double TrainingFactor = 3.0;
    /// <summary>Bits in one of FedScale's "kbits": its model size is bytes / 1024 × 8 (aggregator.py).</summary>
    public const double BitsPerFedScaleKbit = 1024;

    /// <summary>Reads a <c>client_behave_trace</c> pickle: every client, validated.</summary>
    public static IReadOnlyList<FedScaleBehaviour> ReadBehaviourTrace(string path)
    {
        var clients = new List<FedScaleBehaviour>();
        foreach (var (id, entry) in ReadClients(path))
        {
            var active = NumberList(path, id, entry, "active");
            var inactive = NumberList(path, id, entry, "inactive");
            var finish = Number(path, id, entry, "finish_time");
            // FedScale takes cur_time % finish_time and indexes active[k % len(active)]: zero fails there.
            if (finish <= 0) throw Error(path, id, "finish_time", $"must be > 0 seconds (FedScale takes the time modulo it), found {Show(finish)}");
            if (active.Count == 0) throw Error(path, id, "active", "is empty (FedScale needs at least one on-interval)");
            if (inactive.Count != active.Count)
                throw Error(path, id, "inactive", $"has {inactive.Count} entries but active has {active.Count}; they pair up by index");
            for (var k = 0; k < active.Count; k++)
            {
                if (inactive[k] < active[k])
                    throw Error(path, id, $"inactive[{k}]", $"{Show(inactive[k])} is before active[{k}] {Show(active[k])}: the interval ends before it starts");
                // FedScale walks the intervals in order with a cursor: they must be in order.
                if (k > 0 && active[k] < active[k - 1])
                    throw Error(path, id, $"active[{k}]", $"{Show(active[k])} is before active[{k - 1}] {Show(active[k - 1])}: intervals must be in ascending order");
            }
            // Not read by FedScale's code; checked only for their documented types when present.
            if (Optional(entry, "duration") is { } duration) Number(path, id, entry, "duration");
            if (Optional(entry, "model") is { } model && model is not string)
                throw Error(path, id, "model", $"must be a string, found {TypeName(model)}");
            clients.Add(new FedScaleBehaviour(id, active, inactive, finish));
        }
        return clients;
    }

    /// <summary>Reads a <c>client_device_capacity</c> pickle: every client, validated.</summary>
    public static IReadOnlyList<FedScaleDeviceCapacity> ReadDeviceCapacity(string path)
    {
        var clients = new List<FedScaleDeviceCapacity>();
        foreach (var (id, entry) in ReadClients(path))
        {
            var computation = Number(path, id, entry, "computation");
            var communication = Number(path, id, entry, "communication");
            if (computation <= 0) throw Error(path, id, "computation", $"must be > 0 ms per sample, found {Show(computation)}");
            if (communication <= 0) throw Error(path, id, "communication", $"must be > 0 kbps (FedScale divides by it), found {Show(communication)}");
            clients.Add(new FedScaleDeviceCapacity(id, computation, communication));
        }
        return clients;
    }

    /// <summary>
    /// Which FedScale client each hospital is: hospital i ↔ the i-th of the client ids in ascending
    /// order (integer ids by value, then other ids ordinally), or of a permutation of them drawn from
    /// <c>SeededRandom.Derive(seed, "fedscale/clients")</c>. With fewer clients than hospitals the
    /// list wraps round (hospital i ↔ entry i mod count), as FedScale itself reuses its traces
    /// modulo their length. Two files with the same client ids give each hospital the same client.
    /// FedScale's own matching differs and is not reproduced: its n-th registered client (n from 1)
    /// takes the behaviour entry at position n mod count of the file's key order (client_manager.py,
    /// register_client) and the capacity entry whose key is n mod count, or computation = communication
    /// = 1 when there is none (aggregator.py, client_register_handler).
    /// </summary>
    public static IReadOnlyDictionary<string, string> MapClients(IEnumerable<string> clientIds, IReadOnlyList<string> hospitals, FedScaleClientOrder order, ulong seed)
    {
        var ids = clientIds.Distinct().OrderBy(id => id, ClientIdOrder.Instance).ToList();
        if (ids.Count == 0) throw new ArgumentException("the trace has no clients", nameof(clientIds));
        if (order == FedScaleClientOrder.Seeded)
            ids = SeededRandom.Derive(seed, "fedscale/clients").Permutation(ids.Count).Select(i => ids[i]).ToList();
        return hospitals.Select((h, i) => (h, ids[i % ids.Count])).ToDictionary(p => p.h, p => p.Item2);
    }

    /// <summary>
    /// The hospitals' availability from a behaviour trace: hospital h is on at simulated second t
    /// when, with p = its client's finish_time, t mod p lies in one of its [active[k], inactive[k]).
    /// What differs from FedScale's <c>ClientMetadata.is_active</c>: (1) FedScale's intervals are
    /// closed, ours half-open, so a client is off at the very instant inactive[k] (and an interval
    /// with active[k] = inactive[k], on for an instant in FedScale, is dropped); (2) FedScale looks
    /// the interval up with a cursor that advances at most one interval per query, so when it is
    /// queried less often than intervals pass it may report a client off that is on — this reader
    /// answers what the trace says at every instant instead; (3) parts of intervals at or beyond
    /// finish_time, which FedScale never reaches, are cut off.
    /// </summary>
    public static AvailabilityTrace ToAvailability(IReadOnlyList<FedScaleBehaviour> trace, IReadOnlyDictionary<string, string> hospitalClients, string source)
    {
        var byId = trace.ToDictionary(c => c.ClientId);
        var intervals = new Dictionary<string, IReadOnlyList<OnInterval>>();
        var periods = new Dictionary<string, double>();
        foreach (var (hospital, clientId) in hospitalClients)
        {
            var client = byId[clientId];
            intervals[hospital] = client.Active.Zip(client.Inactive)
                .Select(p => new OnInterval(p.First, Math.Min(p.Second, client.FinishTime)))
                .Where(i => i.End > i.Start)
                .ToList();
            periods[hospital] = client.FinishTime;
        }
        return new AvailabilityTrace(intervals, periods, source);
    }

    /// <summary>
    /// Our speed factor for a FedScale client: FedScale's seconds per training step,
    /// 3 × <paramref name="batchSize"/> × computation / 1000 (client_metadata.py, get_completion_time),
    /// over our reference <paramref name="secondsPerStep"/> (<c>heterogeneity.seconds-per-step</c>).
    /// </summary>
    public static double SpeedFactor(double computationMsPerSample, int batchSize, double secondsPerStep) =>
        TrainingFactor * batchSize * computationMsPerSample / 1000.0 / secondsPerStep;

    /// <summary>Our megabits (10⁶ bits) per second for FedScale's 'communication' (1024 bits per second).</summary>
    public static double BandwidthMbps(double communicationKbps) => communicationKbps * BitsPerFedScaleKbit / 1e6;

    /// <summary>Each mapped hospital's speed factor and bandwidth from a device capacity trace (see <see cref="SpeedFactor"/>, <see cref="BandwidthMbps"/>).</summary>
    public static IReadOnlyList<HospitalSystemOverride> ToHeterogeneity(IReadOnlyList<FedScaleDeviceCapacity> trace, IReadOnlyDictionary<string, string> hospitalClients, int batchSize, double secondsPerStep)
    {
        if (!(secondsPerStep > 0)) throw new ArgumentOutOfRangeException(nameof(secondsPerStep), secondsPerStep, "must be > 0 to scale FedScale's computation latency");
        if (batchSize <= 0) throw new ArgumentOutOfRangeException(nameof(batchSize), batchSize, "must be > 0");
        var byId = trace.ToDictionary(c => c.ClientId);
        return hospitalClients.Select(p =>
        {
            var c = byId[p.Value];
            return new HospitalSystemOverride(p.Key, SpeedFactor(c.ComputationMsPerSample, batchSize, secondsPerStep), BandwidthMbps(c.CommunicationKbps));
        }).ToList();
    }

    private static IEnumerable<(string Id, IDictionary Entry)> ReadClients(string path)
    {
        var info = new FileInfo(path);
        if (!info.Exists) throw new DataFormatException(path, "file", "does not exist");
        if (info.Length > MaxFileBytes) throw new DataFormatException(path, "file", $"is {info.Length} bytes, more than the {MaxFileBytes} a trace may be");
        object root;
        try
        {
            using var stream = File.OpenRead(path);
            using var unpickler = new Unpickler();
            root = unpickler.load(stream);
        }
        // Whatever a malformed stream makes the unpickler throw (it runs no code: unknown classes become ClassDicts).
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            throw new DataFormatException(path, "file", $"is not a readable Python pickle: {e.Message}", e);
        }
        if (root is not IDictionary clients || root is ClassDict)
            throw new DataFormatException(path, "file", $"must hold a dict of client id -> entry, found {TypeName(root)}");
        if (clients.Count > MaxClients) throw new DataFormatException(path, "file", $"has {clients.Count} clients, more than the {MaxClients} a trace may have");
        if (clients.Count == 0) throw new DataFormatException(path, "file", "has no clients");
        var seen = new HashSet<string>();
        foreach (DictionaryEntry e in clients)
        {
            var id = e.Key switch
            {
                int i => i.ToString(CultureInfo.InvariantCulture),
                long l => l.ToString(CultureInfo.InvariantCulture),
                BigInteger b => b.ToString(CultureInfo.InvariantCulture),
                string s when s.Length > 0 => s,
                var other => throw new DataFormatException(path, "client id", $"must be an integer or a non-empty string, found {TypeName(other)}"),
            };
            // 1 and '1' would both be client 1.
            if (!seen.Add(id)) throw new DataFormatException(path, $"client {id}", "is in the file twice (as an integer and as a string)");
            if (e.Value is not IDictionary entry || e.Value is ClassDict)
                throw new DataFormatException(path, $"client {id}", $"must be a dict, found {TypeName(e.Value)}");
            yield return (id, entry);
        }
    }

    private static object? Optional(IDictionary entry, string field) => entry.Contains(field) ? entry[field] : null;

    private static double Number(string path, string id, IDictionary entry, string field)
    {
        if (!entry.Contains(field)) throw Error(path, id, field, "is missing");
        return Finite(path, id, field, entry[field]);
    }

    private static double Finite(string path, string id, string field, object? value)
    {
        double v = value switch
        {
            int i => i,
            long l => l,
            double d => d,
            float f => f,
            BigInteger b => (double)b,
            _ => throw Error(path, id, field, $"must be a number, found {TypeName(value)}"),
        };
        if (!double.IsFinite(v)) throw Error(path, id, field, $"must be finite, found {Show(v)}");
        if (v < 0) throw Error(path, id, field, $"must not be negative, found {Show(v)}");
        return v;
    }

    private static List<double> NumberList(string path, string id, IDictionary entry, string field)
    {
        if (!entry.Contains(field)) throw Error(path, id, field, "is missing");
        if (entry[field] is not IList list || entry[field] is string)
            throw Error(path, id, field, $"must be a list of seconds, found {TypeName(entry[field])}");
        if (list.Count > MaxIntervalsPerClient) throw Error(path, id, field, $"has {list.Count} entries, more than {MaxIntervalsPerClient}");
        var values = new List<double>(list.Count);
        for (var k = 0; k < list.Count; k++) values.Add(Finite(path, id, $"{field}[{k}]", list[k]));
        return values;
    }

    private static DataFormatException Error(string path, string id, string field, string problem) =>
        new(path, $"client {id}, '{field}'", problem);

    private static string Show(double v) => v.ToString("R", CultureInfo.InvariantCulture);

    private static string TypeName(object? value) => value switch
    {
        null => "None",
        ClassDict c => $"a Python object of class {c.ClassName}",
        string => "a string",
        bool => "a bool",
        IDictionary => "a dict",
        IList => "a list",
        _ => value.GetType().Name,
    };

    /// <summary>Integer ids by value first, then any other ids ordinally.</summary>
    private sealed class ClientIdOrder : IComparer<string>
    {
        public static readonly ClientIdOrder Instance = new();

        public int Compare(string? x, string? y)
        {
            var (xi, yi) = (BigInteger.TryParse(x, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var a),
                            BigInteger.TryParse(y, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var b));
            if (xi && yi) return a.CompareTo(b);
            if (xi != yi) return xi ? -1 : 1;
            return string.CompareOrdinal(x, y);
        }
    }
}
