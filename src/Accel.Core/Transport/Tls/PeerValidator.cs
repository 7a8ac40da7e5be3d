using System.Net.Security;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Accel.Core.Transport.Tls;

/// <summary>Accepts a peer certificate whose SPKI SHA-256 is pinned, or that chains to the configured CA bundle.</summary>
internal sealed class PeerValidator
{
    private readonly PeerTrust _trust;
    private readonly X509Certificate2Collection? _roots;

    public PeerValidator(PeerTrust trust)
    {
        _trust = trust;
        if (!string.IsNullOrEmpty(trust.CaBundlePem))
        {
            _roots = [];
            _roots.ImportFromPem(trust.CaBundlePem);
        }
    }

    public bool Validate(object sender, X509Certificate? certificate, X509Chain? chain, SslPolicyErrors errors)
    {
        if (certificate is null)
        {
            return false;
        }

        using var cert = new X509Certificate2(certificate);
        if (_trust.PinnedSpkiSha256.Count > 0)
        {
            Span<byte> digest = stackalloc byte[SHA256.HashSizeInBytes];
            SHA256.HashData(cert.PublicKey.ExportSubjectPublicKeyInfo(), digest);
            foreach (var pin in _trust.PinnedSpkiSha256)
            {
                if (CryptographicOperations.FixedTimeEquals(pin, digest))
                {
                    return true;
                }
            }
        }

        if (_roots is null)
        {
            return false;
        }

        using var customChain = new X509Chain();
        customChain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        customChain.ChainPolicy.CustomTrustStore.AddRange(_roots);
        customChain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        return customChain.Build(cert);
    }
}
