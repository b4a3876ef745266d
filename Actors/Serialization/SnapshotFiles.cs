using Google.Protobuf;

namespace FedActors.Actors.Serialization;

/// <summary>
/// Checks the snapshot files of Akka.Persistence's local file store before a run resumes from them: one written by
/// <see cref="FedActorsSerializer"/> in a format this version cannot read (the positional format before the wire schema, or
/// a later schema version) is named with its path, instead of failing the coordinator's or a hospital's recovery later.
/// </summary>
public static class SnapshotFiles
{
    /// <summary>
    /// The first snapshot file under <paramref name="directory"/> (files named <c>snapshot-*</c>, as the local store names
    /// them) that this version cannot read, with the reason; null when there is none (or no such directory). Files that are
    /// not the store's, or not FedActors', are left for the store to judge.
    /// </summary>
    public static string? FindUnreadable(string directory)
    {
        if (!Directory.Exists(directory)) return null;
        foreach (var file in Directory.EnumerateFiles(directory, "snapshot-*").Order(StringComparer.Ordinal))
        {
            var manifest = FedActorsManifest(file);
            if (manifest is null || FedActorsSerializer.IsCurrentManifest(manifest)) continue;
            return $"{file}: a FedActors snapshot of manifest '{manifest}', " + (FedActorsSerializer.IsPreSchemaManifest(manifest)
                ? "in the format from before the wire schema (fedactors.wire.v1): written by an older FedActors, which this version cannot read; start the run again."
                : "which this version of FedActors does not know (written by a newer one?).");
        }
        return null;
    }

    /// <summary>
    /// The manifest of a snapshot file written through <see cref="FedActorsSerializer"/>: Akka.Persistence's snapshot
    /// serializer stores <c>PersistentPayload { int32 serializerId = 1; bytes payload = 2; bytes payloadManifest = 3; }</c>.
    /// Null for anything else.
    /// </summary>
    private static string? FedActorsManifest(string file)
    {
        try
        {
            using var stream = File.OpenRead(file);
            var input = new CodedInputStream(stream);
            int? serializer = null;
            string? manifest = null;
            for (uint tag; (tag = input.ReadTag()) != 0;)
            {
                switch (tag)
                {
                    case 1 << 3: // serializerId, varint
                        serializer = input.ReadInt32();
                        break;
                    case 3 << 3 | 2: // payloadManifest, bytes
                        manifest = input.ReadBytes().ToStringUtf8();
                        break;
                    default:
                        input.SkipLastField(); // the payload, read past in chunks
                        break;
                }
            }
            return serializer == FedActorsSerializer.Id ? manifest : null;
        }
        catch (InvalidProtocolBufferException)
        {
            return null;
        }
    }
}
