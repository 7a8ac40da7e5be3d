using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Accel.Core.Transport;
using Accel.Core.Transport.Tls;

namespace Accel.Core.Tests.TestSupport;

/// <summary>Identities for transport tests: self-signed ones, and a small CA that issues leaf certificates.</summary>
public static class TestIdentities
{
    private static readonly Lazy<EndpointIdentity> s_server = new(() => EndpointIdentities.CreateSelfSigned("server"));
    private static readonly Lazy<EndpointIdentity> s_client = new(() => EndpointIdentities.CreateSelfSigned("client"));
    private static readonly Lazy<EndpointIdentity> s_stranger = new(() => EndpointIdentities.CreateSelfSigned("stranger"));

    public static EndpointIdentity Server => s_server.Value;

    public static EndpointIdentity Client => s_client.Value;

    /// <summary>An identity nobody pins.</summary>
    public static EndpointIdentity Stranger => s_stranger.Value;

    public static PeerTrust Pin(EndpointIdentity identity) => new() { PinnedSpkiSha256 = [EndpointIdentities.ComputeSpkiSha256(identity.CertificatePem)] };

    /// <summary>A CA (certificate PEM + key) and a function issuing leaves signed by it.</summary>
    public sealed class TestCa : IDisposable
    {
        private readonly ECDsa _key;
        private readonly X509Certificate2 _certificate;

        public TestCa(string name)
        {
            _key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
            var request = new CertificateRequest("CN=" + name, _key, HashAlgorithmName.SHA256);
            request.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
            request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, true));
            request.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(request.PublicKey, false));
            var now = DateTimeOffset.UtcNow;
            _certificate = request.CreateSelfSigned(now.AddDays(-1), now.AddDays(30));
            CertificatePem = _certificate.ExportCertificatePem();
        }

        public string CertificatePem { get; }

        public EndpointIdentity Issue(string name)
        {
            using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
            var request = new CertificateRequest("CN=" + name, key, HashAlgorithmName.SHA256);
            request.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, true));
            request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature, true));
            request.CertificateExtensions.Add(X509AuthorityKeyIdentifierExtension.CreateFromCertificate(_certificate, true, false));
            var serial = RandomNumberGenerator.GetBytes(12);
            serial[0] &= 0x7f;
            var now = DateTimeOffset.UtcNow;
            using var leaf = request.Create(_certificate, now.AddHours(-1), now.AddDays(7), serial);
            return new EndpointIdentity(leaf.ExportCertificatePem(), key.ExportPkcs8PrivateKeyPem());
        }

        public void Dispose()
        {
            _certificate.Dispose();
            _key.Dispose();
        }
    }
}
