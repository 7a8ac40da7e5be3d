using System.Text;
using Accel.Core.Transport.Ngtcp2.Native;
using static Accel.Core.Transport.Ngtcp2.Native.Ngtcp2Native;

namespace Accel.Core.Transport.Ngtcp2;

/// <summary>
/// GnuTLS certificate credentials: this endpoint's certificate and key, imported from PEM once. A listener loads them
/// when it starts and every server connection's TLS session shares them (GnuTLS allows one credentials object in many
/// sessions), so a handshake flood never re-parses the key. Reference-counted: freed when the listener and the last
/// connection using them have released them. A client connection loads its own.
/// </summary>
internal sealed unsafe class Ngtcp2Credentials
{
    private nint _handle;
    private int _refs = 1;

    private Ngtcp2Credentials(nint handle) => _handle = handle;

    /// <summary>The <c>gnutls_certificate_credentials_t</c>; valid while a reference is held.</summary>
    public nint Handle => _handle;

    /// <summary>Imports <paramref name="identity"/>; an empty identity presents no certificate (a server refuses such a client).</summary>
    public static Ngtcp2Credentials Load(EndpointIdentity identity)
    {
        nint cred = 0;
        Ngtcp2Tls.Check(gnutls_certificate_allocate_credentials(&cred), "gnutls_certificate_allocate_credentials");
        try
        {
            if (!string.IsNullOrEmpty(identity.CertificatePem))
            {
                var certBytes = Encoding.ASCII.GetBytes(identity.CertificatePem);
                var keyBytes = Encoding.ASCII.GetBytes(identity.PrivateKeyPem);
                try
                {
                    fixed (byte* c = certBytes)
                    fixed (byte* k = keyBytes)
                    {
                        var certDatum = new gnutls_datum_t { data = c, size = (uint)certBytes.Length };
                        var keyDatum = new gnutls_datum_t { data = k, size = (uint)keyBytes.Length };
                        Ngtcp2Tls.Check(gnutls_certificate_set_x509_key_mem(cred, &certDatum, &keyDatum, GNUTLS_X509_FMT_PEM), "gnutls_certificate_set_x509_key_mem");
                    }
                }
                finally
                {
                    Array.Clear(keyBytes);
                }
            }

            return new Ngtcp2Credentials(cred);
        }
        catch
        {
            gnutls_certificate_free_credentials(cred);
            throw;
        }
    }

    /// <summary>Takes a reference; false when the credentials were already freed (the listener is being disposed).</summary>
    public bool TryAddRef()
    {
        var refs = Volatile.Read(ref _refs);
        while (refs > 0)
        {
            var seen = Interlocked.CompareExchange(ref _refs, refs + 1, refs);
            if (seen == refs)
            {
                return true;
            }

            refs = seen;
        }

        return false;
    }

    public void Release()
    {
        if (Interlocked.Decrement(ref _refs) == 0)
        {
            gnutls_certificate_free_credentials(_handle);
            _handle = 0;
        }
    }
}
