using System.Net;
using System.Net.Quic;
using System.Net.Security;
using System.Runtime.Versioning;
using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;
using Accel.Core.Transport.Scheduling;
using Accel.Core.Transport.Tls;

namespace Accel.Core.Transport.MsQuic;

/// <summary>
/// The MsQuic engine over System.Net.Quic (needs libmsquic ≥ 2.2.2). System.Net.Quic exposes no DATAGRAM,
/// no stream priority, no statistics and no congestion-control choice, so <see cref="Capabilities"/> is empty:
/// priority is applied above the engine by a <see cref="WriteArbiter"/> per connection, and RTT/bandwidth must be
/// measured by the edges themselves.
/// </summary>
[SupportedOSPlatform("linux")]
[SupportedOSPlatform("windows")]
[SupportedOSPlatform("osx")]
public sealed class MsQuicEngine : ITransportEngine
{
    /// <summary>Weighted-class bytes handed to System.Net.Quic ahead of what it has completed.</summary>
    public const long DefaultWriteAheadBytes = 256 * 1024;

    private readonly long _writeAheadBytes;

    public MsQuicEngine(long writeAheadBytes = DefaultWriteAheadBytes)
    {
        _writeAheadBytes = writeAheadBytes;
    }

    public string Name => "msquic";

    public bool IsSupported => QuicConnection.IsSupported && QuicListener.IsSupported;

    public string? UnsupportedReason => IsSupported
        ? null
        : "System.Net.Quic is not supported on this host: libmsquic (>= 2.2.2, from Microsoft's package repository) is not installed";

    public string Version => IsSupported ? $"System.Net.Quic {typeof(QuicConnection).Assembly.GetName().Version} (libmsquic)" : "unavailable";

    public TransportCapabilities Capabilities => TransportCapabilities.None;

    public async ValueTask<ITransportListener> ListenAsync(TransportListenerOptions options, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(options);
        ThrowIfUnsupported();
        var certificate = LoadIdentity(options.Identity);
        var validator = new PeerValidator(options.PeerTrust);
        var alpn = new SslApplicationProtocol(options.Alpn);
        var listenerOptions = new QuicListenerOptions
        {
            ListenEndPoint = options.ListenEndPoint,
            ApplicationProtocols = [alpn],
            ListenBacklog = options.AcceptBacklog,
            ConnectionOptionsCallback = (_, _, _) => ValueTask.FromResult(Common(new QuicServerConnectionOptions
            {
                ServerAuthenticationOptions = new SslServerAuthenticationOptions
                {
                    ApplicationProtocols = [alpn],
                    ServerCertificate = certificate,
                    ClientCertificateRequired = true,
                    EnabledSslProtocols = SslProtocols.Tls13,
                    RemoteCertificateValidationCallback = validator.Validate,
                },
            }, options)),
        };

        try
        {
            var listener = await QuicListener.ListenAsync(listenerOptions, cancellationToken).ConfigureAwait(false);
            return new MsQuicTransportListener(listener, certificate, _writeAheadBytes);
        }
        catch (QuicException ex)
        {
            certificate.Dispose();
            throw MsQuicErrors.Translate(ex);
        }
    }

    public async ValueTask<ITransportConnection> ConnectAsync(TransportClientOptions options, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(options);
        ThrowIfUnsupported();
        // An empty identity means "present no certificate" (the server edge will refuse us).
        var certificate = string.IsNullOrEmpty(options.Identity.CertificatePem) ? null : LoadIdentity(options.Identity);
        var validator = new PeerValidator(options.PeerTrust);
        var alpn = new SslApplicationProtocol(options.Alpn);
        var connectionOptions = Common(new QuicClientConnectionOptions
        {
            RemoteEndPoint = options.RemoteEndPoint,
            LocalEndPoint = options.LocalEndPoint,
            ClientAuthenticationOptions = new SslClientAuthenticationOptions
            {
                ApplicationProtocols = [alpn],
                TargetHost = options.ServerName,
                ClientCertificates = certificate is null ? [] : [certificate],
                EnabledSslProtocols = SslProtocols.Tls13,
                RemoteCertificateValidationCallback = validator.Validate,
            },
        }, options);

        try
        {
            var connection = await QuicConnection.ConnectAsync(connectionOptions, cancellationToken).ConfigureAwait(false);
            return new MsQuicTransportConnection(connection, certificate, _writeAheadBytes);
        }
        catch (QuicException ex)
        {
            certificate?.Dispose();
            throw MsQuicErrors.Translate(ex);
        }
        catch (AuthenticationException ex)
        {
            certificate?.Dispose();
            throw new TransportException(TransportError.AuthenticationFailed, "the server edge failed authentication: " + ex.Message, inner: ex);
        }
    }

    /// <summary>The settings both sides take from <see cref="TransportOptions"/>.</summary>
    private static T Common<T>(T quic, TransportOptions options)
        where T : QuicConnectionOptions
    {
        quic.DefaultStreamErrorCode = StreamErrorCodes.Default;
        quic.DefaultCloseErrorCode = StreamErrorCodes.Default;
        quic.IdleTimeout = options.IdleTimeout;
        quic.KeepAliveInterval = options.KeepAliveInterval > TimeSpan.Zero ? options.KeepAliveInterval : Timeout.InfiniteTimeSpan;
        quic.HandshakeTimeout = options.HandshakeTimeout;
        quic.MaxInboundBidirectionalStreams = options.MaxInboundBidirectionalStreams;
        quic.MaxInboundUnidirectionalStreams = options.MaxInboundUnidirectionalStreams;
        quic.InitialReceiveWindowSizes = ReceiveWindows(options);
        return quic;
    }

    private static QuicReceiveWindowSizes ReceiveWindows(TransportOptions options) => new()
    {
        Connection = (int)Math.Min(int.MaxValue, options.ConnectionReceiveWindow),
        LocallyInitiatedBidirectionalStream = (int)Math.Min(int.MaxValue, options.StreamReceiveWindow),
        RemotelyInitiatedBidirectionalStream = (int)Math.Min(int.MaxValue, options.StreamReceiveWindow),
        UnidirectionalStream = (int)Math.Min(int.MaxValue, options.StreamReceiveWindow),
    };

    private static X509Certificate2 LoadIdentity(EndpointIdentity identity)
    {
        // MsQuic wants a certificate whose key is usable by its TLS library: round-trip through PKCS#12.
        using var ephemeral = X509Certificate2.CreateFromPem(identity.CertificatePem, identity.PrivateKeyPem);
        return X509CertificateLoader.LoadPkcs12(ephemeral.Export(X509ContentType.Pkcs12), password: null);
    }

    private void ThrowIfUnsupported()
    {
        if (!IsSupported)
        {
            throw new PlatformNotSupportedException(UnsupportedReason);
        }
    }
}
