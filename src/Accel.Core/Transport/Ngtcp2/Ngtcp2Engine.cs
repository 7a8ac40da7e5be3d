using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using static Accel.Core.Transport.Ngtcp2.Native.Ngtcp2Native;

namespace Accel.Core.Transport.Ngtcp2;

/// <summary>
/// QUIC over Debian's libngtcp2 1.x + libngtcp2_crypto_gnutls + GnuTLS, by direct P/Invoke over
/// <see cref="System.Net.Sockets"/> UDP. A fixed set of event-loop threads (one per core by default) serves every
/// connection; each connection's <c>ngtcp2_conn</c> is owned by one of them for its whole life. Each UDP socket has
/// its own receive thread (a listener's one; a client connection's one).
/// </summary>
/// <remarks>
/// Semantics callers can rely on (the conformance tests check them):
/// <list type="bullet">
/// <item>Both ends authenticate: the server requires a client certificate; each side checks the peer by SPKI pin or
/// CA bundle. A client whose <see cref="EndpointIdentity"/> is empty presents no certificate and is refused.</item>
/// <item><see cref="ITransportConnection.CloseAsync"/>(code) waits until everything written is acknowledged, then sends
/// CONNECTION_CLOSE with that application code. The peer's <see cref="ITransportConnection.Closed"/> reports
/// <see cref="TransportError.ConnectionAborted"/> with the code, also for code 0; the local side reports
/// <see cref="TransportError.ConnectionClosed"/>.</item>
/// <item>A peer's STOP_SENDING: ngtcp2 1.11 has no callback for it. The engine sees the write side shut, and fails the
/// writer with <see cref="TransportError.StreamAborted"/> and the code once the stream closes (the peer acknowledged
/// the reset), or after a grace of 3×RTT (50 ms..1 s) without a code if the stream stays open.</item>
/// <item>Statistics: RTTs, cwnd and bytes in flight come from <c>ngtcp2_conn_get_conn_info</c> (V1); byte and packet
/// counts are the engine's own. V1 has no loss or delivery-rate fields: the delivery rate stays null; lost packets are
/// the sum of <c>ngtcp2_conn_get_stream_loss_count</c> over the open streams (packets with STREAM frames declared lost,
/// spurious ones included; datagram-only packets not), which is what the input redundancy's loss threshold reads.</item>
/// </list>
/// </remarks>
public sealed class Ngtcp2Engine : ITransportEngine
{
    internal const TransportCapabilities EngineCapabilities =
        TransportCapabilities.StreamPriority | TransportCapabilities.CongestionStatistics | TransportCapabilities.CongestionControlChoice
        | TransportCapabilities.LossStatistics | TransportCapabilities.AcknowledgedBytes | TransportCapabilities.Datagrams;

    private static readonly Lazy<(bool Supported, string? Reason, string Version)> s_probe = new(Probe);

    private readonly ILogger _logger;
    private readonly Ngtcp2EventLoopGroup _loops;

    /// <param name="loggerFactory">Where the engine logs.</param>
    /// <param name="eventLoops">Event-loop threads serving all connections, 1..64; null: one per core.</param>
    public Ngtcp2Engine(ILoggerFactory? loggerFactory = null, int? eventLoops = null)
    {
        _logger = (loggerFactory ?? NullLoggerFactory.Instance).CreateLogger("Accel.Core.Transport.Ngtcp2");
        _loops = new Ngtcp2EventLoopGroup(eventLoops ?? Ngtcp2EventLoopGroup.DefaultLoops, _logger);
    }

    /// <summary>How many event-loop threads serve this engine's connections.</summary>
    public int EventLoops => _loops.Loops.Count;

    internal Ngtcp2EventLoopGroup Loops => _loops;

    /// <summary>The sonames this binding is written for (ngtcp2 1.x ABI).</summary>
    public static IReadOnlyList<string> NativeLibraries { get; } = [LibNgtcp2, LibCrypto, LibGnuTls];

    public string Name => "ngtcp2";

    public bool IsSupported => s_probe.Value.Supported;

    public string? UnsupportedReason => s_probe.Value.Reason;

    public string Version => s_probe.Value.Version;

    public TransportCapabilities Capabilities => EngineCapabilities;

    public ValueTask<ITransportListener> ListenAsync(TransportListenerOptions options, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(options);
        ThrowIfUnsupported();
        ValidateOptions(options);
        return ValueTask.FromResult<ITransportListener>(new Ngtcp2Listener(options, _loops, _logger));
    }

    public async ValueTask<ITransportConnection> ConnectAsync(TransportClientOptions options, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(options);
        ThrowIfUnsupported();
        ValidateOptions(options);
        var remote = await ResolveAsync(options.RemoteEndPoint, cancellationToken).ConfigureAwait(false);
        var socket = new Socket(remote.AddressFamily, SocketType.Dgram, ProtocolType.Udp);
        UdpEndpoint endpoint;
        try
        {
            socket.Bind(options.LocalEndPoint ?? new IPEndPoint(remote.AddressFamily == AddressFamily.InterNetworkV6 ? IPAddress.IPv6Any : IPAddress.Any, 0));
            socket.Connect(remote);
            endpoint = new UdpEndpoint(socket, _logger);
        }
        catch
        {
            socket.Dispose();
            throw;
        }

        Ngtcp2Connection connection;
        try
        {
            connection = Ngtcp2Connection.CreateClient(options, endpoint, remote, _loops, _logger);
        }
        catch
        {
            socket.Dispose();
            throw;
        }

        endpoint.Start(null, connection);
        connection.Start();
        try
        {
            await connection.HandshakeTask.WaitAsync(cancellationToken).ConfigureAwait(false);
            return connection;
        }
        catch (TransportException e)
        {
            await connection.DisposeAsync().ConfigureAwait(false);
            throw new TransportException(e.Error, e.Message, e.ApplicationErrorCode, e);
        }
        catch
        {
            await connection.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    private static async ValueTask<IPEndPoint> ResolveAsync(EndPoint endPoint, CancellationToken cancellationToken)
    {
        switch (endPoint)
        {
            case IPEndPoint ip:
                return ip;
            case DnsEndPoint dns:
                var addresses = await Dns.GetHostAddressesAsync(dns.Host, cancellationToken).ConfigureAwait(false);
                if (addresses.Length == 0)
                {
                    throw new TransportException(TransportError.ConnectionRefused, "No address for " + dns.Host);
                }

                return new IPEndPoint(addresses[0], dns.Port);
            default:
                throw new ArgumentException("Unsupported endpoint type " + endPoint.GetType().Name, nameof(endPoint));
        }
    }

    private static void ValidateOptions(TransportOptions options)
    {
        if (options.PeerTrust.IsEmpty)
        {
            throw new ArgumentException("PeerTrust must pin a key or name a CA bundle: peers are always authenticated.", nameof(options));
        }

        if (string.IsNullOrEmpty(options.Alpn) || options.Alpn.Length > 255)
        {
            throw new ArgumentException("ALPN must be 1..255 characters.", nameof(options));
        }
    }

    private void ThrowIfUnsupported()
    {
        if (!IsSupported)
        {
            throw new PlatformNotSupportedException(UnsupportedReason);
        }
    }

    private static unsafe (bool Supported, string? Reason, string Version) Probe()
    {
        foreach (var name in NativeLibraries)
        {
            if (!NativeLibrary.TryLoad(name, out _))
            {
                return (false, $"{name} is not installed (Debian: libngtcp2-16, libngtcp2-crypto-gnutls8, libgnutls30)", "unavailable");
            }
        }

        var info = ngtcp2_version(0);
        var ngtcp2 = info == null ? "?" : Marshal.PtrToStringUTF8((nint)info->version_str) ?? "?";
        var gnutls = Marshal.PtrToStringUTF8((nint)gnutls_check_version(null)) ?? "?";
        var version = $"ngtcp2 {ngtcp2}, GnuTLS {gnutls}";
        if (info == null || (info->version_num >> 16) != 1)
        {
            return (false, $"libngtcp2 {ngtcp2} is not a 1.x release", version);
        }

        return (true, null, version);
    }
}
