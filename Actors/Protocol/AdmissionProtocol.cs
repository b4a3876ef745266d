namespace FedActors.Actors.Protocol;

/// <summary>
/// An admitted node's <c>ClusterAdmission</c> → a newer member's: prove that you belong to this run (and hold the
/// cluster's secret, if it has one) for this fresh <paramref name="Nonce"/>.
/// </summary>
/// <param name="Nonce">32 random bytes, never reused.</param>
public sealed record AdmissionChallenge(byte[] Nonce) : IFedActorsMessage;

/// <summary>The answer to an <see cref="AdmissionChallenge"/>.</summary>
/// <param name="RunId">The prover's run id.</param>
/// <param name="Experiment">The prover's experiment fingerprint (initial global model, hospitals, seed, rounds).</param>
/// <param name="Mac">
/// HMAC-SHA256, under a key derived from the cluster secret, of the nonce, run id, fingerprint and the prover's own
/// address; empty when the prover has no secret.
/// </param>
public sealed record AdmissionProof(string RunId, string Experiment, byte[] Mac) : IFedActorsMessage;

/// <summary>
/// An admitted node's <c>ClusterAdmission</c> → a member it refuses, just before downing it: why, so that the refused
/// node can say so and stop with a configuration error instead of a silent exit.
/// </summary>
/// <param name="Reason">The reason, as the refusing node logs it.</param>
public sealed record AdmissionDenied(string Reason) : IFedActorsMessage;
