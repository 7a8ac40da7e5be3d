using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Accel.Edge.Tests.Lab;

/// <summary>A CA and a SPICE server certificate signed by it, as QEMU/Proxmox deployments have them.</summary>
internal static class TestCertificates
{
    /// <summary>Writes spice-ca.pem, spice-server-cert.pem and spice-server-key.pem (RSA 2048) into <paramref name="dir"/>.</summary>
    public static void WriteSpiceServerTls(string dir, string serverIp)
    {
        using var caKey = RSA.Create(2048);
        var caRequest = new CertificateRequest("CN=SpiceAccel test CA", caKey, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        caRequest.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        caRequest.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, true));
        using var ca = caRequest.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(30));

        using var key = RSA.Create(2048);
        var request = new CertificateRequest("CN=" + serverIp, key, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        var san = new SubjectAlternativeNameBuilder();
        san.AddIpAddress(IPAddress.Parse(serverIp));
        request.CertificateExtensions.Add(san.Build());
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, true));
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.1")], false));
        var serial = new byte[8];
        RandomNumberGenerator.Fill(serial);
        using var leaf = request.Create(ca, DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(29), serial);

        File.WriteAllText(Path.Combine(dir, "spice-ca.pem"), ca.ExportCertificatePem());
        File.WriteAllText(Path.Combine(dir, "spice-server-cert.pem"), leaf.ExportCertificatePem());
        File.WriteAllText(Path.Combine(dir, "spice-server-key.pem"), key.ExportRSAPrivateKeyPem());
    }
}
