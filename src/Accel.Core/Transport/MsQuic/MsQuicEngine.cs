using System.Net;
using System.Net.Quic;
using System.Net.Security;
using System.Runtime.CompilerServices;
using System.Runtime.Versioning;
using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;
using Accel.Core.Transport.Scheduling;
using Accel.Core.Transport.Tls;

namespace Accel.Core.Transport.MsQuic;

/// <summary>
/// The MsQuic engine over System.Net.Quic (needs libmsquic ≥ 2.2.2; <see cref="MsQuicLibrary"/> says where it comes
/// from). System.Net.Quic exposes no DATAGRAM, no stream priority and no congestion-control choice. The controller is
/// chosen through libmsquic's own settings instead (<see cref="MsQuicSettings"/>: CUBIC or BBR, no Reno), and the
/// streams' urgencies through libmsquic's stream priorities (<see cref="MsQuicPriority"/>), so the engine's capabilities
/// are <see cref="TransportCapabilities.CongestionControlChoice"/> and <see cref="TransportCapabilities.StreamPriority"/>;
/// the weighted urgencies' shares are given above the engine by a <see cref="WriteArbiter"/> per connection, which also
/// bounds what it hands to System.Net.Quic ahead of its completions. Statistics are not guaranteed either, but each
/// connection reads them from libmsquic where it can (<see cref="MsQuicStatistics"/>) and then says so in its own
/// capabilities.
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

    public bool IsSupported => MsQuicLibrary.EnsureLoaded() is null && QuicConnection.IsSupported && QuicListener.IsSupported;

    public string? UnsupportedReason => MsQuicLibrary.EnsureLoaded() ?? (IsSupported
        ? null
        : "System.Net.Quic is not supported on this host: libmsquic (>= 2.2.2) is not installed (Microsoft's package, " +
          $"or one built from source named by {MsQuicLibrary.DirectoryVariable}=DIR, see docs/msquic.md)");

    public string Version => IsSupported
        ? $"System.Net.Quic {typeof(QuicConnection).Assembly.GetName().Version}, {MsQuicLibrary.Describe() ?? "libmsquic"}"
        : "unavailable";

    public TransportCapabilities Capabilities => !IsSupported || !MsQuicLibrary.HasApi
        ? TransportCapabilities.None
        : TransportCapabilities.CongestionControlChoice | (MsQuicPriority.Reachable ? TransportCapabilities.StreamPriority : TransportCapabilities.None);

    /// <summary>CUBIC always; BBR where libmsquic's settings are reachable; never Reno (libmsquic has none, it runs CUBIC).</summary>
    public bool Runs(CongestionControlAlgorithm algorithm) =>
        algorithm == CongestionControlAlgorithm.Cubic || ((Capabilities & TransportCapabilities.CongestionControlChoice) != 0 && MsQuicSettings.Supports(algorithm));

    public async ValueTask<ITransportListener> ListenAsync(TransportListenerOptions options, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(options);
        ThrowIfUnsupported();
        var certificate = LoadIdentity(options.Identity);
        var validator = new PeerValidator(options.PeerTrust);
        var alpn = new SslApplicationProtocol(options.Alpn);
        var credits = new ConditionalWeakTable<QuicConnection, MsQuicStreamCredit>();
        var listenerOptions = new QuicListenerOptions
        {
            ListenEndPoint = options.ListenEndPoint,
            ApplicationProtocols = [alpn],
            ListenBacklog = options.AcceptBacklog,
            ConnectionOptionsCallback = (connection, _, _) => ValueTask.FromResult(Common(new QuicServerConnectionOptions
            {
                ServerAuthenticationOptions = new SslServerAuthenticationOptions
                {
                    ApplicationProtocols = [alpn],
                    ServerCertificate = certificate,
                    ClientCertificateRequired = true,
                    EnabledSslProtocols = SslProtocols.Tls13,
                    RemoteCertificateValidationCallback = validator.Validate,
                },
            }, options, Accepting(connection, options, credits))),
        };

        try
        {
            var listener = await QuicListener.ListenAsync(listenerOptions, cancellationToken).ConfigureAwait(false);
            MsQuicSettings.TrySetStatelessResetKey(options.Identity);
            return new MsQuicTransportListener(listener, certificate, _writeAheadBytes, credits, options.IdleTimeout);
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
        var credit = new MsQuicStreamCredit();
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
        }, options, credit);

        // MsQuic stretches the handshake idle timeout to three probe timeouts (about 3 s before any RTT sample):
        // the engine bounds the attempt itself so HandshakeTimeout means the same as with ngtcp2.
        // Its cancellation then waits for the connection's closing period, so the attempt is abandoned at the
        // deadline and cleaned up in the background.
        using var handshake = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var connect = MsQuicSettings.Connect(connectionOptions, options, handshake.Token);
        try
        {
            var deadline = options.HandshakeTimeout > TimeSpan.Zero ? options.HandshakeTimeout : Timeout.InfiniteTimeSpan;
            var connection = await connect.WaitAsync(deadline, cancellationToken).ConfigureAwait(false);
            return new MsQuicTransportConnection(connection, certificate, _writeAheadBytes, credit, options.IdleTimeout);
        }
        catch (TimeoutException ex)
        {
            await handshake.CancelAsync().ConfigureAwait(false);
            _ = DisposeLateAsync(connect);
            certificate?.Dispose();
            throw new TransportException(TransportError.ConnectionRefused, $"the peer did not answer the handshake within {options.HandshakeTimeout}", inner: ex);
        }
        catch (QuicException ex) when (ex.QuicError is QuicError.ConnectionIdle or QuicError.ConnectionTimeout)
        {
            certificate?.Dispose();
            throw new TransportException(TransportError.ConnectionRefused, "the peer did not answer the handshake", inner: ex);
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

    /// <summary>
    /// A server connection about to be configured (not started, nothing sent): its controller is set, and the stream
    /// credit it will get is recorded for the listener's accept.
    /// </summary>
    private static MsQuicStreamCredit Accepting(QuicConnection connection, TransportOptions options, ConditionalWeakTable<QuicConnection, MsQuicStreamCredit> credits)
    {
        MsQuicSettings.TrySet(connection, options);
        var credit = new MsQuicStreamCredit();
        credits.AddOrUpdate(connection, credit);
        return credit;
    }

    /// <summary>The settings both sides take from <see cref="TransportOptions"/>.</summary>
    private static T Common<T>(T quic, TransportOptions options, MsQuicStreamCredit credit)
        where T : QuicConnectionOptions
    {
        quic.StreamCapacityCallback = credit.OnCapacity;
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

    /// <summary>A connect abandoned at its deadline: dispose the connection should it complete anyway.</summary>
    private static async Task DisposeLateAsync(Task<QuicConnection> connect)
    {
        try
        {
            await (await connect.ConfigureAwait(false)).DisposeAsync().ConfigureAwait(false);
        }
        catch (Exception)
        {
            // Failed or cancelled, as expected: nothing to clean up.
        }
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
