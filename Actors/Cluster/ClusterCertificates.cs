using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace FedActors.Actors.Cluster;

/// <summary>
/// A self-signed certificate set for one cluster (what <c>fedactors certs</c> writes): a private certificate authority
/// (<see cref="AuthorityFile"/>, its key in <see cref="AuthorityKeyFile"/>) and one certificate per node, each a PKCS#12
/// file with its key, signed by the authority. Keys are ECDSA P-256; key files are readable by their owner only.
/// </summary>
public static class ClusterCertificates
{
    /// <summary>The CA's certificate (PEM), which every node names as <c>cluster.tls-authority</c>; not secret.</summary>
    public const string AuthorityFile = "ca.crt";

    /// <summary>The CA's private key (PEM): needed only to sign more node certificates later; keep it off the nodes.</summary>
    public const string AuthorityKeyFile = "ca.key";

    /// <summary>The file of node <paramref name="node"/> (1-based): <c>node-01.pfx</c>, <c>node-02.pfx</c>, ...</summary>
    /// <param name="node">The node's number, from 1.</param>
    public static string NodeFile(int node) => $"node-{node:D2}.pfx";

    /// <summary>
    /// Writes node certificates <paramref name="firstNode"/> to <paramref name="firstNode"/> + <paramref name="nodes"/> − 1 into
    /// <paramref name="directory"/>, signed by the CA there, which is created first if the directory has none. Nothing
    /// that exists is overwritten: a second call with a higher <paramref name="firstNode"/> adds nodes to the same cluster.
    /// </summary>
    /// <param name="directory">Where the files go; created if missing.</param>
    /// <param name="firstNode">The first node's number (1 for a new cluster).</param>
    /// <param name="nodes">How many node certificates to write (1 to 10,000).</param>
    /// <param name="validity">How long a new CA and the node certificates are valid (a node's never beyond its CA's).</param>
    /// <param name="clusterName">Names the CA and the nodes' organisation (their subjects).</param>
    /// <param name="password">The node files' PKCS#12 password, or null for none (the files are then protected by their permissions only).</param>
    /// <param name="now">The start of validity.</param>
    /// <returns>The files written, the CA's first when it was created.</returns>
    /// <exception cref="ArgumentException">A count is out of range, a node file exists, or the directory has a CA certificate without its key (or the other way round); the message names the file.</exception>
    public static IReadOnlyList<string> Create(string directory, int firstNode, int nodes, TimeSpan validity, string clusterName, string? password,
        DateTimeOffset now)
    {
        if (nodes is < 1 or > 10_000) throw new ArgumentException($"--nodes must be 1..10000, found {nodes}.");
        if (firstNode is < 1 or > 99_999) throw new ArgumentException($"--first must be 1..99999, found {firstNode}.");
        if (validity < TimeSpan.FromDays(1)) throw new ArgumentException($"--days must be at least 1, found {validity.TotalDays:0.##}.");
        if (string.IsNullOrWhiteSpace(clusterName) || clusterName.Any(c => c is ',' or '=' or '+' or '"' or '\\' or '<' or '>' or ';' || char.IsControl(c)))
            throw new ArgumentException($"--name '{clusterName}' must be non-empty, without , = + \" \\ < > ; or control characters.");
        Directory.CreateDirectory(directory);
        var written = new List<string>();
        var targets = Enumerable.Range(firstNode, nodes).Select(n => Path.Combine(directory, NodeFile(n))).ToList();
        if (targets.FirstOrDefault(File.Exists) is { } existing)
            throw new ArgumentException($"'{existing}' exists: nothing is overwritten (add nodes with --first {firstNode + nodes}, or another directory).");
        using var authority = LoadOrCreateAuthority(directory, validity, clusterName, now, written);
        foreach (var (target, number) in targets.Zip(Enumerable.Range(firstNode, nodes)))
        {
            using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
            var request = new CertificateRequest($"CN=fedactors node {number:D2}, O={clusterName}", key, HashAlgorithmName.SHA256);
            request.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, true));
            request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature | X509KeyUsageFlags.KeyAgreement, true));
            // Every node is both a TLS server (it is dialled) and a TLS client (it dials).
            request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension(
                [new Oid("1.3.6.1.5.5.7.3.1", "Server Authentication"), new Oid("1.3.6.1.5.5.7.3.2", "Client Authentication")], false));
            request.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(request.PublicKey, false));
            request.CertificateExtensions.Add(X509AuthorityKeyIdentifierExtension.CreateFromCertificate(authority, true, false));
            var notAfter = now + validity < authority.NotAfter ? now + validity : new DateTimeOffset(authority.NotAfter.ToUniversalTime());
            using var issued = request.Create(authority, now.AddMinutes(-5), notAfter, RandomNumberGenerator.GetBytes(16));
            using var withKey = issued.CopyWithPrivateKey(key);
            WritePrivate(target, withKey.Export(X509ContentType.Pkcs12, password));
            written.Add(target);
        }
        return written;
    }

    private static X509Certificate2 LoadOrCreateAuthority(string directory, TimeSpan validity, string clusterName, DateTimeOffset now, List<string> written)
    {
        var certificatePath = Path.Combine(directory, AuthorityFile);
        var keyPath = Path.Combine(directory, AuthorityKeyFile);
        if (File.Exists(certificatePath) != File.Exists(keyPath))
            throw new ArgumentException($"'{(File.Exists(certificatePath) ? keyPath : certificatePath)}' is missing beside its pair: " +
                                        "node certificates are signed with the CA's key; use a new directory for a new CA.");
        if (File.Exists(certificatePath)) return X509Certificate2.CreateFromPemFile(certificatePath, keyPath);
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest($"CN=fedactors cluster CA, O={clusterName}", key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, true, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, true));
        request.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(request.PublicKey, false));
        var authority = request.CreateSelfSigned(now.AddMinutes(-5), now + validity);
        WritePrivate(keyPath, System.Text.Encoding.ASCII.GetBytes(key.ExportPkcs8PrivateKeyPem()));
        File.WriteAllText(certificatePath, authority.ExportCertificatePem() + "\n");
        written.Add(certificatePath);
        written.Add(keyPath);
        return authority;
    }

    /// <summary>Writes a new file only its owner can read (on Unix; elsewhere with the directory's permissions).</summary>
    private static void WritePrivate(string path, byte[] content)
    {
        var options = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write };
        if (!OperatingSystem.IsWindows()) options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        using var file = new FileStream(path, options);
        file.Write(content);
    }
}
