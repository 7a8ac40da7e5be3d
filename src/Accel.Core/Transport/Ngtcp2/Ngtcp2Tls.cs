using System.Runtime.CompilerServices;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using Accel.Core.Transport.Ngtcp2.Native;
using static Accel.Core.Transport.Ngtcp2.Native.Ngtcp2Native;

namespace Accel.Core.Transport.Ngtcp2;

/// <summary>GnuTLS session setup for QUIC (TLS 1.3, ALPN, mutual certificates) and the peer check (SPKI pin or CA).</summary>
internal static unsafe class Ngtcp2Tls
{
    /// <summary>CA bundles parsed once per bundle text (the listener's options hold it), not on every handshake.</summary>
    private static readonly ConditionalWeakTable<string, X509Certificate2Collection> s_caRoots = new();

    private static ReadOnlySpan<byte> Priority => "NORMAL:-VERS-ALL:+VERS-TLS1.3:%DISABLE_TLS13_COMPAT_MODE\0"u8;

    /// <summary>A GnuTLS session for QUIC using <paramref name="credentials"/> (shared, not owned by the session).</summary>
    public static nint CreateSession(bool isServer, TransportOptions options, string? serverName, ngtcp2_crypto_conn_ref* connRef, nint credentials)
    {
        nint ses = 0;
        try
        {
            Check(gnutls_init(&ses, (uint)((isServer ? GNUTLS_SERVER : GNUTLS_CLIENT) | GNUTLS_NO_END_OF_EARLY_DATA)), "gnutls_init");
            fixed (byte* p = Priority)
            {
                Check(gnutls_priority_set_direct(ses, p, null), "gnutls_priority_set_direct");
            }

            Check(isServer ? ngtcp2_crypto_gnutls_configure_server_session(ses) : ngtcp2_crypto_gnutls_configure_client_session(ses), "ngtcp2_crypto_gnutls_configure_session");
            gnutls_session_set_ptr(ses, connRef);
            Check(gnutls_credentials_set(ses, GNUTLS_CRD_CERTIFICATE, credentials), "gnutls_credentials_set");

            var alpn = Encoding.ASCII.GetBytes(options.Alpn);
            fixed (byte* a = alpn)
            {
                var alpnDatum = new gnutls_datum_t { data = a, size = (uint)alpn.Length };
                Check(gnutls_alpn_set_protocols(ses, &alpnDatum, 1, GNUTLS_ALPN_MANDATORY), "gnutls_alpn_set_protocols");
            }

            if (isServer)
            {
                gnutls_certificate_server_set_request(ses, GNUTLS_CERT_REQUIRE);
            }
            else if (!string.IsNullOrEmpty(serverName))
            {
                var name = Encoding.ASCII.GetBytes(serverName);
                fixed (byte* n = name)
                {
                    Check(gnutls_server_name_set(ses, GNUTLS_NAME_DNS, n, (nuint)name.Length), "gnutls_server_name_set");
                }
            }

            gnutls_session_set_verify_function(ses, &VerifyPeer);
            return ses;
        }
        catch
        {
            if (ses != 0)
            {
                gnutls_deinit(ses);
            }

            throw;
        }
    }

    public static string? SelectedAlpn(nint session)
    {
        gnutls_datum_t datum;
        return gnutls_alpn_get_selected_protocol(session, &datum) == 0 && datum.data != null
            ? Encoding.ASCII.GetString(datum.data, (int)datum.size)
            : null;
    }

    /// <summary>Checks the peer's chain against the pins and the CA bundle. Returns the leaf's SPKI SHA-256 or a reason.</summary>
    public static byte[]? Authenticate(nint session, PeerTrust trust, out string? failure)
    {
        uint count;
        var certs = gnutls_certificate_get_peers(session, &count);
        if (certs == null || count == 0)
        {
            failure = "the peer presented no certificate";
            return null;
        }

        using var leaf = X509CertificateLoader.LoadCertificate(new ReadOnlySpan<byte>(certs[0].data, (int)certs[0].size));
        var spki = SHA256.HashData(leaf.PublicKey.ExportSubjectPublicKeyInfo());
        foreach (var pin in trust.PinnedSpkiSha256)
        {
            if (pin.AsSpan().SequenceEqual(spki))
            {
                failure = null;
                return spki;
            }
        }

        if (!string.IsNullOrEmpty(trust.CaBundlePem))
        {
            var roots = s_caRoots.GetValue(trust.CaBundlePem, static pem =>
            {
                var parsed = new X509Certificate2Collection();
                parsed.ImportFromPem(pem);
                return parsed;
            });
            using var chain = new X509Chain();
            chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
            chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
            chain.ChainPolicy.CustomTrustStore.AddRange(roots);
            for (var i = 1; i < count; i++)
            {
                chain.ChainPolicy.ExtraStore.Add(X509CertificateLoader.LoadCertificate(new ReadOnlySpan<byte>(certs[i].data, (int)certs[i].size)));
            }

            var ok = chain.Build(leaf);
            foreach (var element in chain.ChainElements)
            {
                element.Certificate.Dispose();
            }

            foreach (var extra in chain.ChainPolicy.ExtraStore)
            {
                extra.Dispose();
            }

            if (ok)
            {
                failure = null;
                return spki;
            }

            failure = "the peer's certificate does not chain to the configured CA bundle";
            return null;
        }

        failure = trust.IsEmpty ? "no peer trust is configured" : "the peer's public key is not pinned";
        return null;
    }

    [System.Runtime.InteropServices.UnmanagedCallersOnly]
    private static int VerifyPeer(nint session)
    {
        try
        {
            var connRef = (ngtcp2_crypto_conn_ref*)gnutls_session_get_ptr(session);
            var connection = Ngtcp2Connection.FromUserData(connRef->user_data);
            return connection is not null && connection.OnVerifyPeer(session) ? 0 : GNUTLS_E_CERTIFICATE_ERROR;
        }
        catch
        {
            return GNUTLS_E_CERTIFICATE_ERROR;
        }
    }

    internal static void Check(int rv, string what)
    {
        if (rv < 0)
        {
            throw new TransportException(TransportError.InternalError, $"{what} failed: {GnuTlsErrorText(rv)} ({rv})");
        }
    }
}
