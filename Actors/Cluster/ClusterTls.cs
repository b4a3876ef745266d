using System.Net.Security;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Akka.Event;
using Akka.Remote.Transport.DotNetty;

namespace FedActors.Actors.Cluster;

/// <summary>
/// Mutual TLS for a cluster's remoting: every node presents its own certificate, and accepts a peer only if the peer's
/// certificate chains to the cluster's certificate authority (a private CA, as <c>fedactors certs</c> makes). Host names
/// are not checked: nodes come and go on addresses nobody knows beforehand (Slurm, Kubernetes), and a certificate from
/// the cluster's own CA is what makes a member.
/// </summary>
/// <param name="Certificate">This node's certificate, with its private key.</param>
/// <param name="Authority">The cluster CA's certificate (no key needed): the one trust root of the cluster.</param>
public sealed record ClusterTlsSettings(X509Certificate2 Certificate, X509Certificate2 Authority)
{
    /// <summary>
    /// Loads a node's certificate (PKCS#12, with its key) and the cluster CA's certificate (PEM or DER).
    /// </summary>
    /// <param name="certificatePath">The node's <c>.pfx</c> (<c>cluster.tls-certificate</c>).</param>
    /// <param name="authorityPath">The cluster CA's certificate (<c>cluster.tls-authority</c>).</param>
    /// <param name="password">The <c>.pfx</c> password, or null for none.</param>
    /// <exception cref="ArgumentException">A file is missing or unreadable, the certificate has no private key, or it is not signed by the authority; the message names the file.</exception>
    public static ClusterTlsSettings Load(string certificatePath, string authorityPath, string? password)
    {
        foreach (var (file, what) in new[] { (certificatePath, "node certificate"), (authorityPath, "cluster CA certificate") })
            if (!File.Exists(file)) throw new ArgumentException($"the {what} '{file}' does not exist (no such file); `fedactors certs DIR` makes a set");
        X509Certificate2 certificate, authority;
        try { certificate = X509CertificateLoader.LoadPkcs12FromFile(certificatePath, password); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or CryptographicException)
        {
            throw new ArgumentException($"cannot read the node certificate '{certificatePath}' as PKCS#12 ({Reason(e)}); " +
                                        "make one with `fedactors certs`, and set FEDACTORS_TLS_PASSWORD if it has a password");
        }
        try { authority = X509CertificateLoader.LoadCertificateFromFile(authorityPath); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or CryptographicException)
        {
            throw new ArgumentException($"cannot read the cluster CA certificate '{authorityPath}' ({Reason(e)})");
        }
        if (!certificate.HasPrivateKey) throw new ArgumentException($"the node certificate '{certificatePath}' holds no private key");
        var settings = new ClusterTlsSettings(certificate, authority);
        if (settings.Refusal(certificate) is { } why)
            throw new ArgumentException($"the node certificate '{certificatePath}' would be refused by its own cluster: {why} ('{authorityPath}')");
        return settings;
    }

    /// <summary>Why a peer presenting <paramref name="peer"/> is not a member of this cluster, or null if it is.</summary>
    /// <param name="peer">The certificate the peer presented in the TLS handshake, or null if it presented none.</param>
    /// <returns>A reason naming the certificate's subject, or null when it chains to <see cref="Authority"/> and is valid now.</returns>
    public string? Refusal(X509Certificate2? peer)
    {
        if (peer is null) return "it presented no certificate";
        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.CustomTrustStore.Add(Authority);
        // A private CA publishes no revocation list; a compromised node is shut out by a new CA (`fedactors certs`).
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        if (chain.Build(peer)) return null;
        var status = string.Join("; ", chain.ChainStatus.Select(s => s.StatusInformation.Trim()).Where(s => s.Length > 0).Distinct());
        return $"its certificate '{peer.Subject}' is not signed by this cluster's CA '{Authority.Subject}'" + (status.Length > 0 ? $" ({status})" : "");
    }

    /// <summary>
    /// The check remoting runs on every handshake, both ways: <see cref="Refusal"/>, a refusal logged as a warning naming
    /// the peer and the reason (the connection is then closed; no message of the peer's is read).
    /// </summary>
    public CertificateValidationCallback Validator() => (certificate, _, peer, _, log) =>
    {
        var why = Refusal(certificate);
        if (why is null) return true;
        log.Warning("Refused a TLS connection from {0}: {1}", peer, why);
        return false;
    };

    private static string Reason(Exception e) => e is UnauthorizedAccessException ? "not readable" : e.Message.Trim().TrimEnd('.');
}
