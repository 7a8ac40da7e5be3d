using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Threading.Channels;
using Accel.Core.Transport.Ngtcp2.Native;
using Accel.Core.Transport.Scheduling;
using Microsoft.Extensions.Logging;
using static Accel.Core.Transport.Ngtcp2.Native.Ngtcp2Native;

namespace Accel.Core.Transport.Ngtcp2;

/// <summary>
/// One QUIC connection. One thread of the engine's <see cref="Ngtcp2EventLoopGroup"/> (its loop, for good) owns the
/// <c>ngtcp2_conn</c>: it reads the datagrams the endpoint routes to it, runs timers, executes commands the application
/// posts, and packs packets with the <see cref="PriorityScheduler{T}"/>. Application calls never touch ngtcp2 directly.
/// The loop's collaborators: <see cref="Ngtcp2ConnectionDriver"/> (a turn: commands, receive, timers, send), <see cref="Ngtcp2NativeConnection"/>
/// (native state), <see cref="Ngtcp2StreamTable"/> (streams and what waits on them), <see cref="Ngtcp2PacketWriter"/>
/// (send path), <see cref="Ngtcp2Datagrams"/> and <see cref="Ngtcp2Callbacks"/>. This type is the application's side
/// and the handshake's state.
/// </summary>
internal sealed class Ngtcp2Connection : ITransportConnection, IConnectionStatistics, IDatagramConnection
{
    private readonly bool _isServer;
    private readonly TransportOptions _options;
    private UdpEndpoint _endpoint;
    private readonly Ngtcp2Listener? _listener;
    private readonly ILogger _logger;
    private readonly Ngtcp2ConnectionDriver _driver;
    private readonly Channel<Ngtcp2Stream> _acceptedStreams;
    private readonly TaskCompletionSource _handshake = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource<TransportException> _closed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly List<CidKey> _cids = [];
    private readonly object _statsLock = new();

    private byte[]? _peerSpki;
    private string? _authFailure;
    private string _alpn = string.Empty;
    private Exception? _callbackException;
    private ConnectionStatistics _stats;
    private int _disposed;
    private int _halfOpenEnded;

    private Ngtcp2Connection(bool isServer, TransportOptions options, UdpEndpoint endpoint, IPEndPoint remoteEndPoint, SocketAddress? remoteAddress, Ngtcp2Listener? listener, Ngtcp2EventLoopGroup loops, ILogger logger)
    {
        _isServer = isServer;
        _options = options;
        _endpoint = endpoint;
        _listener = listener;
        _logger = logger;
        RemoteEndPoint = remoteEndPoint;
        LocalEndPoint = endpoint.LocalEndPoint;
        if (isServer)
        {
            // A client endpoint belongs to its one connection; a listener's is shared and reference-counted.
            endpoint.AddRef();
        }

        Qlog = Ngtcp2Qlog.Open(isServer);
        Native = new Ngtcp2NativeConnection(this, options, endpoint.LocalEndPoint, remoteEndPoint);
        Streams = new Ngtcp2StreamTable(this, isServer);
        _acceptedStreams = Channel.CreateBounded<Ngtcp2Stream>(new BoundedChannelOptions(Math.Max(1, options.MaxInboundBidirectionalStreams + options.MaxInboundUnidirectionalStreams))
        {
            FullMode = BoundedChannelFullMode.Wait,
            SingleReader = false,
            SingleWriter = true,
        });
        _driver = new Ngtcp2ConnectionDriver(this, endpoint, new Ngtcp2PacketWriter(endpoint, remoteAddress), loops, logger);
    }

    /// <summary>The peer's address; at a server, the one it follows after a validated migration (set by the loop).</summary>
    public EndPoint RemoteEndPoint { get; internal set; }

    /// <summary>Our address; at a client, the one it migrated to when its route changed (set by the loop).</summary>
    public EndPoint LocalEndPoint { get; private set; }

    public string NegotiatedAlpn => _alpn;

    public ReadOnlyMemory<byte> PeerSpkiSha256 => _peerSpki;

    public TransportCapabilities Capabilities => Ngtcp2Engine.EngineCapabilities;

    public Task<TransportException> Closed => _closed.Task;

    public int MaxDatagramPayloadSize => Datagrams.MaxPayloadSize;

    internal Task HandshakeTask => _handshake.Task;

    internal Ngtcp2NativeConnection Native { get; }

    internal Ngtcp2StreamTable Streams { get; }

    /// <summary>At a client whose local address is the kernel's choice: the move to a new one when the route changes.</summary>
    internal Ngtcp2Migration? Migration { get; private set; }

    internal Ngtcp2Datagrams Datagrams { get; } = new();

    /// <summary>ngtcp2's qlog of this connection when <c>ACCEL_NGTCP2_QLOG_DIR</c> asks for it (debugging), else null.</summary>
    internal Ngtcp2Qlog? Qlog { get; }

    internal bool IsServer => _isServer;

    /// <summary>Set by the handshake_completed callback (loop thread).</summary>
    internal bool HandshakeDone { get; private set; }

    /// <summary>Why the peer's certificate was refused, when it was.</summary>
    internal string? AuthFailure => _authFailure;

    /// <summary>The first exception a callback caught; it fails the connection.</summary>
    internal Exception? CallbackException => _callbackException;

    // ---- Construction --------------------------------------------------------------------------------------

    internal static Ngtcp2Connection CreateClient(TransportClientOptions options, UdpEndpoint endpoint, IPEndPoint remote, Ngtcp2EventLoopGroup loops, ILogger logger)
    {
        var connection = new Ngtcp2Connection(false, options, endpoint, remote, null, null, loops, logger);
        try
        {
            connection.Native.InitClient(options.ServerName);
            connection.Migration = Ngtcp2Migration.For(options, connection, remote, logger);
            return connection;
        }
        catch
        {
            connection.FreeNative();
            throw;
        }
    }

    internal static unsafe Ngtcp2Connection CreateServer(TransportListenerOptions options, UdpEndpoint endpoint, ngtcp2_pkt_hd* hd, ngtcp2_cid* originalDcid, SocketAddress from, Ngtcp2Listener listener, ILogger logger)
    {
        var address = new SocketAddress(from.Family, from.Size);
        from.Buffer.Span.CopyTo(address.Buffer.Span);
        var remote = (IPEndPoint)new IPEndPoint(from.Family == AddressFamily.InterNetworkV6 ? IPAddress.IPv6Any : IPAddress.Any, 0).Create(address);
        var connection = new Ngtcp2Connection(true, options, endpoint, remote, address, listener, listener.Loops, logger);
        try
        {
            connection.Native.InitServer(hd, originalDcid, listener.Reset, listener.Credentials, out var scid);
            connection.RegisterCid(hd->dcid.data, (int)hd->dcid.datalen);
            connection.RegisterCid(scid.data, (int)scid.datalen);
            return connection;
        }
        catch
        {
            connection.FreeNative();
            throw;
        }
    }

    internal void Start() => _driver.Start();

    internal static unsafe Ngtcp2Connection? FromUserData(void* userData) => Ngtcp2NativeConnection.OwnerOf(userData);

    internal unsafe void RegisterCid(byte* data, int length)
    {
        var key = new CidKey(data, length);
        _cids.Add(key);
        _endpoint.Register(key, this);
    }

    /// <summary>The stateless reset token for a connection ID this server issues (16 bytes). A client issues none (zero-length ID).</summary>
    internal unsafe void ResetToken(byte* cid, int length, byte* token)
    {
        if (_listener is null)
        {
            throw new InvalidOperationException("A client edge connection uses a zero-length connection ID and issues no others.");
        }

        _listener.Reset.Token(new ReadOnlySpan<byte>(cid, length), new Span<byte>(token, 16));
    }

    /// <summary>Set by the recv_stateless_reset callback: the peer no longer knows this connection.</summary>
    internal bool PeerReset { get; set; }

    internal unsafe void UnregisterCid(byte* data, int length)
    {
        var key = new CidKey(data, length);
        _cids.Remove(key);
        _endpoint.Unregister(key);
    }

    // ---- Application API -----------------------------------------------------------------------------------

    public async ValueTask<ITransportStream> OpenStreamAsync(StreamDirection direction, byte urgency, CancellationToken cancellationToken = default)
    {
        var request = new Ngtcp2OpenRequest(direction, StreamUrgency.Validate(urgency));
        _driver.Post(new Ngtcp2Command(Ngtcp2CommandKind.Open, null, 0, request));
        try
        {
            // A request posted while the loop tears down (its queue already drained) would wait forever: the
            // connection's end fails it. Streams learn of the end before Closed completes, so a caller that reacts to a
            // failed stream can still reach a connection that is going.
            if (await Task.WhenAny(request.Completion.Task, _closed.Task).WaitAsync(cancellationToken).ConfigureAwait(false) != request.Completion.Task)
            {
                request.Completion.TrySetException(CloseErrorCopy());
            }

            return await request.Completion.Task.ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            if (!request.Completion.TrySetCanceled(cancellationToken) && request.Completion.Task.IsCompletedSuccessfully)
            {
                await request.Completion.Task.Result.DisposeAsync().ConfigureAwait(false);
            }

            throw;
        }
    }

    public async ValueTask<ITransportStream> AcceptStreamAsync(CancellationToken cancellationToken = default)
    {
        try
        {
            return await _acceptedStreams.Reader.ReadAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (ChannelClosedException)
        {
            throw CloseErrorCopy();
        }
    }

    public ConnectionStatistics GetStatistics()
    {
        lock (_statsLock)
        {
            return _stats;
        }
    }

    /// <summary>The loop's latest snapshot.</summary>
    internal void Publish(in ConnectionStatistics stats)
    {
        lock (_statsLock)
        {
            _stats = stats;
        }
    }

    public bool TrySendDatagram(ReadOnlySpan<byte> payload)
    {
        if (_closed.Task.IsCompleted || !Datagrams.TryEnqueue(payload))
        {
            return false;
        }

        _driver.Wake();
        return true;
    }

    public ValueTask<int> ReceiveDatagramAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) =>
        Datagrams.ReceiveAsync(buffer, CloseErrorCopy, cancellationToken);

    public async ValueTask CloseAsync(long applicationErrorCode, CancellationToken cancellationToken = default)
    {
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        _driver.Post(new Ngtcp2Command(Ngtcp2CommandKind.Close, null, applicationErrorCode, done));
        try
        {
            await done.Task.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            _driver.Post(new Ngtcp2Command(Ngtcp2CommandKind.Abort, null, applicationErrorCode, null));
            throw;
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        _driver.Post(new Ngtcp2Command(Ngtcp2CommandKind.Abort, null, 0, null));
        if (!_driver.Started)
        {
            Teardown(new TransportException(TransportError.ConnectionClosed, "The connection was disposed."));
            return;
        }

        await _closed.Task.ConfigureAwait(false);
    }

    // ---- Posting from other threads ------------------------------------------------------------------------

    internal void EnqueueInbound(byte[] buffer, int length, int addressLength = 0) => _driver.EnqueueInbound(buffer, length, addressLength, _closed.Task.IsCompleted);

    internal void SignalData(Ngtcp2Stream stream)
    {
        if (Interlocked.Exchange(ref stream.DataSignaled, 1) == 0)
        {
            _driver.Post(new Ngtcp2Command(Ngtcp2CommandKind.Data, stream, 0, null));
        }
    }

    internal void SignalCredit(Ngtcp2Stream stream)
    {
        if (Interlocked.Exchange(ref stream.CreditSignaled, 1) == 0)
        {
            _driver.Post(new Ngtcp2Command(Ngtcp2CommandKind.Credit, stream, 0, null));
        }
    }

    internal void PostAbort(Ngtcp2Stream stream, AbortDirection direction, long code) =>
        _driver.Post(new Ngtcp2Command(direction == AbortDirection.Write ? Ngtcp2CommandKind.AbortWrite : Ngtcp2CommandKind.AbortRead, stream, code, null));

    private TransportException CloseErrorCopy()
    {
        if (_closed.Task.IsCompletedSuccessfully)
        {
            var e = _closed.Task.Result;
            return new TransportException(e.Error, e.Message, e.ApplicationErrorCode, e);
        }

        return new TransportException(TransportError.ConnectionClosed, "The connection is closed.");
    }

    // ---- Callback hooks (loop thread, inside ngtcp2 calls) ---------------------------------------------------

    internal int Failed(Exception e, string callback)
    {
        _callbackException ??= e;
        Ngtcp2Log.CallbackFailed(_logger, e, callback);
        return NGTCP2_ERR_CALLBACK_FAILURE;
    }

    /// <summary>GnuTLS verify hook (loop thread, inside read_pkt): authenticates the peer's certificate.</summary>
    internal bool OnVerifyPeer(nint session)
    {
        _peerSpki = Ngtcp2Tls.Authenticate(session, _options.PeerTrust, out var failure);
        if (_peerSpki is null)
        {
            _authFailure = failure;
            Ngtcp2Log.PeerRejected(_logger, RemoteEndPoint, failure ?? "unknown");
            return false;
        }

        return true;
    }

    internal unsafe int OnHandshakeCompleted(nint conn)
    {
        if (_peerSpki is null)
        {
            _authFailure ??= "the peer was not authenticated";
            _callbackException = new TransportException(TransportError.AuthenticationFailed, "TLS authentication failed: " + _authFailure);
            return NGTCP2_ERR_CALLBACK_FAILURE;
        }

        HandshakeDone = true;
        _alpn = Ngtcp2Tls.SelectedAlpn(Native.Session) ?? string.Empty;
        var remote = ngtcp2_conn_get_remote_transport_params(conn);
        Datagrams.OnHandshake(remote == null ? 0 : (long)Math.Min(remote->max_datagram_frame_size, int.MaxValue), _options.MaxDatagramFrameSize);
        if (_isServer)
        {
            EndHalfOpen();
            Ngtcp2Log.HandshakeCompleted(_logger, RemoteEndPoint, true, _alpn);
            if (!_listener!.OnAuthenticated(this))
            {
                _callbackException = new TransportException(TransportError.ConnectionRefused, "The listener's accept backlog is full.");
                return NGTCP2_ERR_CALLBACK_FAILURE;
            }

            _handshake.TrySetResult();
        }

        return 0;
    }

    internal void OnHandshakeConfirmed()
    {
        if (!_isServer)
        {
            // The server has checked our certificate once it confirms the handshake (HANDSHAKE_DONE).
            Ngtcp2Log.HandshakeCompleted(_logger, RemoteEndPoint, false, _alpn);
            _handshake.TrySetResult();
        }
    }

    /// <summary>
    /// The loop moved this client to <paramref name="next"/> (a new local address): the old socket is released, its
    /// receive thread ends with it.
    /// </summary>
    internal void Rebind(UdpEndpoint next)
    {
        var old = _endpoint;
        _endpoint = next;
        LocalEndPoint = next.LocalEndPoint;
        old.Release();
    }

    internal void OnStreamOpened(long streamId)
    {
        if (!_acceptedStreams.Writer.TryWrite(Streams.OnOpenedByPeer(streamId)))
        {
            throw new InvalidOperationException("The accept queue is full although the peer is bounded by the stream limit.");
        }
    }

    /// <summary>Releases everything; runs once, on its loop thread after the last turn (or from Dispose if it never started).</summary>
    internal void Teardown(TransportException error)
    {
        EndHalfOpen();

        foreach (var key in _cids)
        {
            _endpoint.Unregister(key);
        }

        _cids.Clear();
        Streams.Fail(error);
        _driver.Drain(error);
        if (_handshake.TrySetException(error))
        {
            _ = _handshake.Task.Exception;
        }

        _acceptedStreams.Writer.TryComplete();
        Datagrams.Close();
        if (HandshakeDone || !_isServer)
        {
            Ngtcp2Log.ConnectionClosed(_logger, RemoteEndPoint, error.Error, error.Message);
        }

        FreeNative();
        _closed.TrySetResult(error);
    }

    /// <summary>At a server: this connection no longer counts against the listener's half-open cap (once).</summary>
    private void EndHalfOpen()
    {
        if (_listener is not null && Interlocked.Exchange(ref _halfOpenEnded, 1) == 0)
        {
            _listener.Admission.OnHalfOpenEnded();
        }
    }

    private void FreeNative()
    {
        Native.Free();
        Qlog?.Dispose();
        _endpoint.Release();
    }

}
