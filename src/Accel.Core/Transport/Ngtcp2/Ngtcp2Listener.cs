using System.Net;
using System.Net.Sockets;
using System.Threading.Channels;
using Accel.Core.Transport.Ngtcp2.Native;
using Microsoft.Extensions.Logging;

namespace Accel.Core.Transport.Ngtcp2;

/// <summary>
/// A server endpoint: one UDP socket; authenticated connections are queued for <see cref="AcceptAsync"/>. The
/// identity is imported once, here, and shared by every connection's TLS session; new clients pass
/// <see cref="HandshakeAdmission"/> (Retry, half-open cap) before any connection is built for them.
/// </summary>
internal sealed class Ngtcp2Listener : ITransportListener
{
    private readonly TransportListenerOptions _options;
    private readonly ILogger _logger;
    private readonly UdpEndpoint _endpoint;
    private readonly Channel<Ngtcp2Connection> _accepted;
    private int _disposed;

    public Ngtcp2Listener(TransportListenerOptions options, Ngtcp2EventLoopGroup loops, ILogger logger)
    {
        _options = options;
        Loops = loops;
        _logger = logger;
        Reset = StatelessReset.FromIdentity(options.Identity);
        Credentials = Ngtcp2Credentials.Load(options.Identity);
        var socket = new Socket(options.ListenEndPoint.AddressFamily, SocketType.Dgram, ProtocolType.Udp);
        try
        {
            socket.Bind(options.ListenEndPoint);
            _endpoint = new UdpEndpoint(socket, logger);
        }
        catch
        {
            socket.Dispose();
            Credentials.Release();
            throw;
        }

        Admission = new HandshakeAdmission(options, _endpoint.LocalEndPoint, logger);

        _accepted = Channel.CreateBounded<Ngtcp2Connection>(new BoundedChannelOptions(Math.Max(1, options.AcceptBacklog))
        {
            FullMode = BoundedChannelFullMode.Wait,
            SingleReader = false,
            SingleWriter = false,
        });
        _endpoint.Start(this, null);
        Ngtcp2Log.Listening(logger, LocalEndPoint);
    }

    public IPEndPoint LocalEndPoint => _endpoint.LocalEndPoint;

    /// <summary>The engine's event loops: each connection accepted here runs on one of them.</summary>
    internal Ngtcp2EventLoopGroup Loops { get; }

    /// <summary>The stateless reset key: tokens for the connection IDs issued here, and resets for unknown ones.</summary>
    internal StatelessReset Reset { get; }

    /// <summary>The identity's TLS credentials, shared by every server connection.</summary>
    internal Ngtcp2Credentials Credentials { get; }

    /// <summary>Retry and the half-open cap, with their counters.</summary>
    internal HandshakeAdmission Admission { get; }

    public async ValueTask<ITransportConnection> AcceptAsync(CancellationToken cancellationToken = default)
    {
        try
        {
            return await _accepted.Reader.ReadAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (ChannelClosedException)
        {
            throw new ObjectDisposedException(nameof(Ngtcp2Listener));
        }
    }

    /// <summary>
    /// Receive thread: an Initial packet for no known connection arrived. Returns the connection, not yet started, or
    /// null when the packet was answered with a Retry or dropped.
    /// </summary>
    internal unsafe Ngtcp2Connection? OnInitial(ngtcp2_pkt_hd* hd, SocketAddress from)
    {
        if (Volatile.Read(ref _disposed) != 0)
        {
            return null;
        }

        ngtcp2_cid originalDcid;
        var decision = Admission.Decide(hd, from, &originalDcid);
        if (decision == AdmissionDecision.Retry)
        {
            Admission.SendRetry(_endpoint, hd, from);
            return null;
        }

        if (decision == AdmissionDecision.Drop)
        {
            return null;
        }

        try
        {
            var retried = decision == AdmissionDecision.AcceptRetried;
            var connection = Ngtcp2Connection.CreateServer(_options, _endpoint, hd, retried ? &originalDcid : null, from, this, _logger);
            Admission.OnCreated();
            return connection;
        }
        catch (TransportException e)
        {
            Ngtcp2Log.AcceptFailed(_logger, e.Message);
            return null;
        }
    }

    /// <summary>Connection loop: the handshake and peer authentication succeeded.</summary>
    internal bool OnAuthenticated(Ngtcp2Connection connection)
    {
        if (Volatile.Read(ref _disposed) == 0 && _accepted.Writer.TryWrite(connection))
        {
            return true;
        }

        Ngtcp2Log.BacklogFull(_logger, connection.RemoteEndPoint);
        return false;
    }

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        _accepted.Writer.TryComplete();
        while (_accepted.Reader.TryRead(out var pending))
        {
            await pending.DisposeAsync().ConfigureAwait(false);
        }

        _endpoint.Release();
        Credentials.Release();
    }
}
