using System.Security.Cryptography;
using System.Text;
using Akka.Actor;
using Akka.Cluster;
using Akka.Event;
using FedActors.Actors.Hosting;
using FedActors.Actors.Protocol;

namespace FedActors.Actors.Cluster;

/// <summary>
/// What a node proves to the cluster it joins, and asks of nodes that join after it: the same run id, the same
/// experiment, and (when the cluster has a secret) knowledge of the secret.
/// </summary>
/// <param name="RunId">The run's id; every node of a run has the same.</param>
/// <param name="Key">
/// The key derived from the cluster secret (<see cref="KeyOf"/>), never the secret itself; null: the cluster is open
/// (any process that reaches the ports and names the same run and experiment is admitted).
/// </param>
public sealed record ClusterAdmissionSettings(string RunId, byte[]? Key)
{
    /// <summary>How long a new member has to answer its challenge before it is downed (default 20 s).</summary>
    public TimeSpan Timeout { get; init; } = TimeSpan.FromSeconds(20);

    /// <summary>The HMAC key of a cluster secret: SHA-256 of a fixed label and the secret's UTF-8 bytes.</summary>
    /// <param name="secret">The cluster secret (from <c>cluster.secret-file</c> or <c>FEDACTORS_CLUSTER_SECRET</c>).</param>
    /// <exception cref="ArgumentException">The secret is shorter than 16 characters (after trimming).</exception>
    public static byte[] KeyOf(string secret)
    {
        secret = secret.Trim();
        if (secret.Length < 16) throw new ArgumentException($"the cluster secret has {secret.Length} characters: use at least 16 (e.g. `openssl rand -hex 32`).");
        return SHA256.HashData(Encoding.UTF8.GetBytes("fedactors-cluster-secret-v1\n" + secret));
    }

    /// <summary>Checks the run id (non-empty) and the timeout (positive).</summary>
    /// <exception cref="ArgumentException">A setting is invalid; the message names it.</exception>
    public void Validate()
    {
        if (string.IsNullOrWhiteSpace(RunId)) throw new ArgumentException("cluster admission needs the run id.");
        if (Timeout <= TimeSpan.Zero) throw new ArgumentException($"cluster.admission-timeout must be positive, found {Timeout}.");
    }
}

/// <summary>A member <see cref="ClusterAdmission"/> refused and downed, published on the node's event stream (and logged).</summary>
/// <param name="Member">The refused member's address.</param>
/// <param name="Reason">Why, as logged.</param>
public sealed record AdmissionRefused(Address Member, string Reason);

/// <summary>
/// This node was refused by an older member of the cluster it joined (which then downs it), published on this node's
/// event stream (and logged as an error): <c>fedactors node</c> then stops with the reason and exit code 2.
/// </summary>
/// <param name="By">The refusing member's address.</param>
/// <param name="Reason">Why, as that member logged it.</param>
public sealed record RefusedByCluster(Address By, string Reason);

/// <summary>A member <see cref="ClusterAdmission"/> admitted, published on the node's event stream.</summary>
/// <param name="Member">The admitted member's address.</param>
public sealed record AdmissionGranted(Address Member);

/// <summary>
/// One per cluster node, at <c>/user/cluster-admission</c>. Akka.NET has no join configuration check, so admission is
/// checked just after the join: every Up node challenges each member younger than itself with a fresh nonce; the
/// member's own admission actor answers with its run id, experiment fingerprint and an HMAC (under the key of the
/// cluster secret) of the nonce, both of those and its own address. A member that answers for another run or
/// experiment, without the secret or with a wrong one, or not at all within <see cref="ClusterAdmissionSettings.Timeout"/>,
/// is downed, with the reason logged as a warning (and published as <see cref="AdmissionRefused"/>). Only older members
/// judge younger ones, so a misconfigured newcomer never downs the cluster it tried to join.
/// </summary>
/// <remarks>
/// A refused node may have been a member (Joining, even Up) for the moment its answer took. Stopping it before it
/// joins needs authenticated remoting (TLS), which this does not replace.
/// </remarks>
public sealed class ClusterAdmission : ReceiveActor, IWithTimers
{
    /// <summary>The actor's name under <c>/user</c> on every node.</summary>
    public const string Name = "cluster-admission";

    private sealed record AnswerDue(UniqueAddress Member);

    private readonly ClusterAdmissionSettings _settings;
    private readonly string _experiment;
    private readonly Akka.Cluster.Cluster _cluster = Akka.Cluster.Cluster.Get(Context.System);
    private readonly ILoggingAdapter _log = Context.GetLogger();
    private readonly Dictionary<UniqueAddress, byte[]> _pending = new();
    private readonly HashSet<UniqueAddress> _judged = new();

    /// <summary>Creates the node's admission actor.</summary>
    /// <param name="settings">Run id, secret key and timeout; validated here.</param>
    /// <param name="experiment">This node's experiment fingerprint (<see cref="ExperimentFingerprint"/>).</param>
    public ClusterAdmission(ClusterAdmissionSettings settings, string experiment)
    {
        settings.Validate();
        _settings = settings;
        _experiment = experiment;
        Receive<ClusterEvent.IMemberEvent>(_ => ChallengeNewcomers());
        Receive<ClusterEvent.CurrentClusterState>(_ => ChallengeNewcomers());
        Receive<AdmissionChallenge>(c => Sender.Tell(new AdmissionProof(_settings.RunId, _experiment,
            Mac(_settings.Key, c.Nonce, _settings.RunId, _experiment, _cluster.SelfUniqueAddress))));
        Receive<AdmissionProof>(OnProof);
        Receive<AdmissionDenied>(OnDenied);
        Receive<AnswerDue>(d =>
        {
            if (_pending.Remove(d.Member))
                Refuse(d.Member, $"no admission proof within {_settings.Timeout.TotalSeconds:0.#} s (not a FedActors node of this run?)");
        });
    }

    /// <inheritdoc/>
    public ITimerScheduler Timers { get; set; } = null!;

    /// <summary>Props of a <see cref="ClusterAdmission"/>.</summary>
    /// <param name="settings">Run id, secret key and timeout.</param>
    /// <param name="experiment">This node's experiment fingerprint.</param>
    public static Props Props(ClusterAdmissionSettings settings, string experiment) =>
        Akka.Actor.Props.Create(() => new ClusterAdmission(settings, experiment));

    /// <summary>
    /// What every node of one experiment has alike and another experiment would not: the initial global model's
    /// content hash (seed, model), the hospitals' ids, the seed and the number of rounds; a SHA-256, hex.
    /// </summary>
    /// <param name="run">The node's run.</param>
    public static string ExperimentFingerprint(FederatedRun run) => Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(
        $"{run.InitialGlobal.ContentHash}\n{string.Join(",", run.Hospitals.Select(h => h.HospitalId))}\n{run.Coordinator.Seed}\n{run.Coordinator.Rounds}"))).ToLowerInvariant();

    /// <inheritdoc/>
    protected override void PreStart() =>
        _cluster.Subscribe(Self, ClusterEvent.SubscriptionInitialStateMode.InitialStateAsSnapshot, typeof(ClusterEvent.IMemberEvent));

    /// <inheritdoc/>
    protected override void PostStop() => _cluster.Unsubscribe(Self);

    private void ChallengeNewcomers()
    {
        var self = _cluster.SelfMember;
        if (self.Status != MemberStatus.Up) return; // only admitted, Up members judge
        foreach (var member in _cluster.State.Members)
        {
            var who = member.UniqueAddress;
            if (who.Equals(self.UniqueAddress) || _judged.Contains(who) || _pending.ContainsKey(who)) continue;
            if (member.Status is not (MemberStatus.Joining or MemberStatus.WeaklyUp or MemberStatus.Up)) continue;
            if (!self.IsOlderThan(member)) continue; // the newcomer judges none of its elders
            var nonce = RandomNumberGenerator.GetBytes(32);
            _pending[who] = nonce;
            Context.ActorSelection(new RootActorPath(who.Address) / "user" / Name).Tell(new AdmissionChallenge(nonce));
            Timers.StartSingleTimer(who, new AnswerDue(who), _settings.Timeout);
        }
    }

    private void OnProof(AdmissionProof proof)
    {
        var who = _pending.Keys.FirstOrDefault(m => m.Address.Equals(Sender.Path.Address));
        if (who is null) return; // not asked, or already judged
        var nonce = _pending[who];
        _pending.Remove(who);
        Timers.Cancel(who);
        var reason = Judge(proof, nonce, who);
        if (reason is not null) Refuse(who, reason);
        else
        {
            _judged.Add(who);
            Context.System.EventStream.Publish(new AdmissionGranted(who.Address));
        }
    }

    private string? Judge(AdmissionProof proof, byte[] nonce, UniqueAddress who)
    {
        if (proof.RunId != _settings.RunId) return $"it runs run id '{Clip(proof.RunId)}', this cluster runs '{_settings.RunId}'";
        if (proof.Experiment != _experiment)
            return $"it runs another experiment (fingerprint {Clip(proof.Experiment)}, this cluster's {_experiment[..12]}): every node needs the same config and seed";
        if (_settings.Key is null)
            return proof.Mac.Length == 0 ? null : "it holds a cluster secret and this node has none (cluster.secret-file / FEDACTORS_CLUSTER_SECRET)";
        if (proof.Mac.Length == 0) return "it has no cluster secret (cluster.secret-file / FEDACTORS_CLUSTER_SECRET)";
        var expected = Mac(_settings.Key, nonce, _settings.RunId, _experiment, who);
        return CryptographicOperations.FixedTimeEquals(expected, proof.Mac) ? null : "its proof does not match this cluster's secret";
    }

    private void Refuse(UniqueAddress who, string reason)
    {
        _judged.Add(who);
        _log.Warning("Refused cluster member {0}: {1}; downing it", who.Address, reason);
        Context.System.EventStream.Publish(new AdmissionRefused(who.Address, reason));
        // Told first, so that the refused node stops naming the reason rather than as if the run had ended.
        Context.ActorSelection(new RootActorPath(who.Address) / "user" / Name).Tell(new AdmissionDenied(reason));
        _cluster.Down(who.Address);
    }

    private void OnDenied(AdmissionDenied denied)
    {
        // Only an elder may judge this node: a denial from anyone else (a newer member, a stranger) is ignored.
        var self = _cluster.SelfMember;
        var by = _cluster.State.Members.FirstOrDefault(m => m.Address.Equals(Sender.Path.Address));
        if (by is null || by.Status != MemberStatus.Up || !by.IsOlderThan(self))
        {
            _log.Warning("Ignored an admission refusal from {0}, which is not an Up member older than this node", Sender.Path.Address);
            return;
        }
        var reason = Clip(denied.Reason, 500);
        _log.Error("This node was refused by cluster member {0}: {1}", by.Address, reason);
        Context.System.EventStream.Publish(new RefusedByCluster(by.Address, reason));
    }

    private static string Clip(string text, int length = 12) => text.Length > length ? text[..length] + "…" : text;

    private static byte[] Mac(byte[]? key, byte[] nonce, string runId, string experiment, UniqueAddress prover) =>
        key is null ? [] : HMACSHA256.HashData(key, (byte[])[.. nonce, .. Encoding.UTF8.GetBytes($"\n{runId}\n{experiment}\n{prover.Address}\n{prover.Uid}")]);
}

/// <summary>Watches for this node's own refusal by the cluster it joins (<see cref="RefusedByCluster"/>).</summary>
public static class AdmissionRefusal
{
    /// <summary>
    /// Completes with this node's refusal by the cluster (<see cref="RefusedByCluster"/>) if one comes: start watching
    /// before the node joins.
    /// </summary>
    /// <param name="system">The node's actor system.</param>
    public static Task<RefusedByCluster> Of(ActorSystem system)
    {
        var refused = new TaskCompletionSource<RefusedByCluster>(TaskCreationOptions.RunContinuationsAsynchronously);
        var listener = system.ActorOf(Akka.Actor.Props.Create(() => new RefusalListener(refused)));
        system.EventStream.Subscribe(listener, typeof(RefusedByCluster));
        return refused.Task;
    }

    private sealed class RefusalListener : ReceiveActor
    {
        public RefusalListener(TaskCompletionSource<RefusedByCluster> refused) => Receive<RefusedByCluster>(r => refused.TrySetResult(r));
    }
}
