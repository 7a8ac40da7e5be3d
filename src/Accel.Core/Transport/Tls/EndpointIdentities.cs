using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Accel.Core.Transport.Tls;

/// <summary>Makes endpoint identities and computes the pins peers use to authenticate them.</summary>
public static class EndpointIdentities
{
    /// <summary>A fresh ECDSA P-256 key and a self-signed certificate for it, both PEM.</summary>
    public static EndpointIdentity CreateSelfSigned(string commonName = "spiceaccel", TimeSpan? validity = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(commonName);
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest(new X500DistinguishedName("CN=" + commonName), key, HashAlgorithmName.SHA256);
        var san = new SubjectAlternativeNameBuilder();
        san.AddDnsName(commonName);
        if (commonName != "spiceaccel")
        {
            san.AddDnsName("spiceaccel"); // the default TLS server name client edges send
        }

        request.CertificateExtensions.Add(san.Build());
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature, true));
        var now = DateTimeOffset.UtcNow;
        using var certificate = request.CreateSelfSigned(now.AddDays(-1), now.Add(validity ?? TimeSpan.FromDays(3650)));
        return new EndpointIdentity(certificate.ExportCertificatePem(), key.ExportPkcs8PrivateKeyPem());
    }

    /// <summary>
    /// A secret derived from the identity's private key (HKDF-SHA256 with <paramref name="salt"/> and
    /// <paramref name="info"/>) into <paramref name="key"/>: the same after a restart, different per identity and per
    /// purpose. The engines' stateless reset keys come from here, so a restarted server edge still resets the
    /// connections it no longer knows.
    /// </summary>
    internal static void DeriveKey(EndpointIdentity identity, ReadOnlySpan<byte> salt, ReadOnlySpan<byte> info, Span<byte> key)
    {
        var ikm = System.Text.Encoding.UTF8.GetBytes(identity.PrivateKeyPem);
        try
        {
            HKDF.DeriveKey(HashAlgorithmName.SHA256, ikm, key, salt, info);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(ikm);
        }
    }

    /// <summary>The pin as base64, the form configuration files and `spiceaccel pin` use.</summary>
    public static string ComputeSpkiSha256Base64(string certificatePem) => Convert.ToBase64String(ComputeSpkiSha256(certificatePem));

    /// <summary>SHA-256 of the SubjectPublicKeyInfo of the first certificate in <paramref name="certificatePem"/>.</summary>
    public static byte[] ComputeSpkiSha256(string certificatePem)
    {
        ArgumentException.ThrowIfNullOrEmpty(certificatePem);
        using var certificate = X509Certificate2.CreateFromPem(certificatePem);
        return SHA256.HashData(certificate.PublicKey.ExportSubjectPublicKeyInfo());
    }

    /// <summary>The pin as lowercase hex (for logs; configuration files use base64).</summary>
    public static string ComputeSpkiSha256Hex(string certificatePem) => Convert.ToHexStringLower(ComputeSpkiSha256(certificatePem));
}
