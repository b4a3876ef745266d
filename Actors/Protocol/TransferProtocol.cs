using Akka.Actor;
using FedActors.Training.Weights;

namespace FedActors.Actors.Protocol;

/// <summary>
/// A reference to weights offered by the <c>WeightsTransfer</c> actor <paramref name="Owner"/>:
/// small enough for any message, resolved by the receiver's own transfer actor.
/// <paramref name="PayloadBytes"/> is what fetching it costs (for simulated bandwidth).
/// <paramref name="BulkEndpoint"/> (<c>host:port</c>), when the owner's node serves blobs over plain TCP
/// beside remoting (<c>BulkTransferServer</c>): fetched there first, in chunks over remoting if that fails.
/// </summary>
/// <param name="ContentHash">The weights' SHA-256 content hash, which identifies them.</param>
/// <param name="PayloadBytes">What fetching it costs, in bytes (for simulated bandwidth).</param>
/// <param name="Owner">The WeightsTransfer actor that offers the weights.</param>
/// <param name="BulkEndpoint"><c>host:port</c> of the owner node's TCP side channel; null: chunks over remoting only.</param>
public sealed record WeightsRef(string ContentHash, long PayloadBytes, IActorRef Owner, string? BulkEndpoint = null) : IFedActorsMessage
{
    /// <summary>
    /// The owner node's side-channel token (<c>BulkTransferServer.Token</c>), which a bulk fetch must present: it travels
    /// only inside references, over remoting, so a process that is not sent references cannot fetch. Null: none.
    /// </summary>
    public byte[]? BulkToken { get; init; }
}

/// <summary>Transfer → transfer: send bytes [<paramref name="Offset"/>, +<paramref name="Length"/>) of the blob of <paramref name="ContentHash"/>.</summary>
/// <param name="ContentHash">The blob asked for.</param>
/// <param name="Offset">The first byte of the chunk.</param>
/// <param name="Length">How many bytes, at most.</param>
public sealed record FetchChunk(string ContentHash, long Offset, int Length) : IFedActorsMessage;

/// <summary>One chunk of a serialised weights blob of <paramref name="TotalBytes"/> bytes.</summary>
/// <param name="ContentHash">The blob the chunk belongs to.</param>
/// <param name="Offset">Where in the blob the chunk starts.</param>
/// <param name="TotalBytes">The whole blob's length.</param>
/// <param name="Data">The chunk's bytes.</param>
public sealed record WeightsChunk(string ContentHash, long Offset, long TotalBytes, byte[] Data) : IFedActorsMessage;

/// <summary>Reply to <see cref="FetchChunk"/> when the weights are not (or no longer) held.</summary>
/// <param name="ContentHash">The blob that was asked for.</param>
public sealed record WeightsNotOffered(string ContentHash) : IFedActorsMessage;

// The requests below only ever go to the transfer actor of the sender's own node: they
// hold ModelWeights by reference, so they are exempt from serialisation, never copied.

/// <summary>Keeps <paramref name="Weights"/> available to other nodes until released; the reply is a <see cref="WeightsRef"/>.</summary>
/// <param name="Weights">The weights to offer; held by reference, not copied.</param>
public sealed record OfferWeights(ModelWeights Weights) : INoSerializationVerificationNeeded;

/// <summary>Resolves a reference; the reply is <see cref="WeightsFetched"/> or a <see cref="Status.Failure"/>.</summary>
/// <param name="Ref">The reference to resolve.</param>
public sealed record FetchWeights(WeightsRef Ref) : INoSerializationVerificationNeeded;

/// <summary>The resolved weights, hash-verified when they came from another node.</summary>
/// <param name="Ref">The reference that was resolved.</param>
/// <param name="Weights">The weights; the very object offered when the owner is on this node.</param>
public sealed record WeightsFetched(WeightsRef Ref, ModelWeights Weights) : INoSerializationVerificationNeeded;

/// <summary>
/// Drops offered weights of <paramref name="ContentHash"/> (later fetches of them fail), or this
/// node's cached copy of weights fetched from another node (a later fetch asks their owner again).
/// Also from another node: the coordinator releases each upload at its owner once its round is closed.
/// </summary>
/// <param name="ContentHash">The weights to drop.</param>
public sealed record ReleaseWeights(string ContentHash) : IFedActorsMessage;

/// <summary>Asks a node's weights transfer what it holds; answered with <see cref="WeightsHeld"/>. Local to the node.</summary>
public sealed record GetWeightsHeld : INoSerializationVerificationNeeded
{
    /// <summary>The single instance to send.</summary>
    public static GetWeightsHeld Instance { get; } = new();
}

/// <summary>Weights a node's transfer holds: offered ones (until released) and copies fetched from other nodes, and their payload bytes.</summary>
/// <param name="Offered">Weights offered and not yet released.</param>
/// <param name="Cached">Copies fetched from other nodes and still cached.</param>
/// <param name="PayloadBytes">Payload bytes of all of them.</param>
public sealed record WeightsHeld(int Offered, int Cached, long PayloadBytes) : INoSerializationVerificationNeeded;
