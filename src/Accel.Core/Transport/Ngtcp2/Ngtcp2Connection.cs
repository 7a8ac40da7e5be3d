using System.Buffers;
using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using System.Security.Cryptography;
using System.Threading.Channels;
using Accel.Core.Transport.Scheduling;
using Accel.Core.Transport.Ngtcp2.Native;
using Microsoft.Extensions.Logging;
using static Accel.Core.Transport.Ngtcp2.Native.Ngtcp2Native;

namespace Accel.Core.Transport.Ngtcp2;

/// <summary>
/// One QUIC connection. A dedicated thread (the loop) owns the <c>ngtcp2_conn</c>: it reads the datagrams the
/// endpoint routes to it, runs timers, executes commands the application posts, and packs packets with the
/// <see cref="PriorityScheduler{T}"/>. Application calls never touch ngtcp2 directly.
/// </summary>
internal sealed partial class Ngtcp2Connection : ITransportConnection
{
    /// <summary>Largest UDP payload we send (ngtcp2's default; PMTUD confirms it before use).</summary>
    public const int MaxUdpPayloadSize = 1452;

    private const int MaxInboundQueue = 8192;
    private const int MaxDatagramQueue = 256;
    private const int DatagramOverhead = 48;

    private readonly bool _isServer;
    private readonly TransportOptions _options;
    private readonly UdpEndpoint _endpoint;
    private readonly Ngtcp2Listener? _listener;
    private readonly ILogger _logger;
    private readonly SocketAddress? _remoteAddress;
    private GCHandle _self;
    private readonly unsafe byte* _native;
    private readonly unsafe ngtcp2_path* _path;
    private readonly unsafe ngtcp2_crypto_conn_ref* _connRef;
    private readonly Thread _thread;
    private readonly ManualResetEventSlim _wake = new(false, 20);
    private readonly ConcurrentQueue<Inbound> _inbound = new();
    private readonly ConcurrentQueue<Command> _commands = new();
    private readonly ConcurrentQueue<Inbound> _datagramsOut = new();
    private readonly Channel<Inbound> _datagramsIn;
    private readonly Channel<Ngtcp2Stream> _acceptedStreams;
    private readonly TaskCompletionSource _handshake = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource<TransportException> _closed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly List<CidKey> _cids = [];
    private readonly object _statsLock = new();

    private nint _conn;
    private nint _session;
    private nint _credentials;
    private int _inboundCount;
    private int _datagramsOutCount;
    private volatile int _maxDatagramPayload;
    private byte[]? _peerSpki;
    private string? _authFailure;
    private string _alpn = string.Empty;
    private Exception? _callbackException;
    private ConnectionStatistics _stats;
    private int _disposed;

    private unsafe Ngtcp2Connection(bool isServer, TransportOptions options, UdpEndpoint endpoint, EndPoint remoteEndPoint, SocketAddress? remoteAddress, Ngtcp2Listener? listener, ILogger logger)
    {
        _isServer = isServer;
        _options = options;
        _endpoint = endpoint;
        _listener = listener;
        _logger = logger;
        RemoteEndPoint = remoteEndPoint;
        LocalEndPoint = endpoint.LocalEndPoint;
        _remoteAddress = remoteAddress;
        if (isServer)
        {
            // A client endpoint belongs to its one connection; a listener's is shared and reference-counted.
            endpoint.AddRef();
        }

        _self = GCHandle.Alloc(this);
        _native = (byte*)NativeMemory.AllocZeroed(256);
        _path = (ngtcp2_path*)(_native + 128);
        _connRef = (ngtcp2_crypto_conn_ref*)(_native + 192);
        _path->local.addr = _native;
        _path->local.addrlen = (uint)WriteSockaddr(endpoint.LocalEndPoint, _native);
        _path->remote.addr = _native + 64;
        _path->remote.addrlen = (uint)WriteSockaddr((IPEndPoint)remoteEndPoint, _native + 64);
        _connRef->get_conn = (delegate* unmanaged<ngtcp2_crypto_conn_ref*, nint>)&GetConnCallback;
        _connRef->user_data = (void*)GCHandle.ToIntPtr(_self);
        _datagramsIn = Channel.CreateBounded<Inbound>(new BoundedChannelOptions(MaxDatagramQueue)
        {
            FullMode = BoundedChannelFullMode.Wait,
            SingleReader = false,
            SingleWriter = true,
        });
        _acceptedStreams = Channel.CreateBounded<Ngtcp2Stream>(new BoundedChannelOptions(Math.Max(1, options.MaxInboundBidirectionalStreams + options.MaxInboundUnidirectionalStreams))
        {
            FullMode = BoundedChannelFullMode.Wait,
            SingleReader = false,
            SingleWriter = true,
        });
        _scheduler = new PriorityScheduler<Ngtcp2Stream>();
        _thread = new Thread(Run) { IsBackground = true, Name = "ngtcp2-conn " + remoteEndPoint };
    }

    public EndPoint RemoteEndPoint { get; }

    public EndPoint LocalEndPoint { get; }

    public string NegotiatedAlpn => _alpn;

    public ReadOnlyMemory<byte> PeerSpkiSha256 => _peerSpki;

    public TransportCapabilities Capabilities => Ngtcp2Engine.EngineCapabilities;

    public Task<TransportException> Closed => _closed.Task;

    public int MaxDatagramPayloadSize => _maxDatagramPayload;

    internal Task HandshakeTask => _handshake.Task;

    // ---- Construction --------------------------------------------------------------------------------------

    internal static Ngtcp2Connection CreateClient(TransportClientOptions options, UdpEndpoint endpoint, IPEndPoint remote, ILogger logger)
    {
        var connection = new Ngtcp2Connection(false, options, endpoint, remote, null, null, logger);
        try
        {
            connection.InitClient(options.ServerName);
            return connection;
        }
        catch
        {
            connection.FreeNative();
            throw;
        }
    }

    internal static unsafe Ngtcp2Connection CreateServer(TransportListenerOptions options, UdpEndpoint endpoint, ngtcp2_pkt_hd* hd, SocketAddress from, Ngtcp2Listener listener, ILogger logger)
    {
        var address = new SocketAddress(from.Family, from.Size);
        from.Buffer.Span.CopyTo(address.Buffer.Span);
        var remote = (IPEndPoint)new IPEndPoint(from.Family == AddressFamily.InterNetworkV6 ? IPAddress.IPv6Any : IPAddress.Any, 0).Create(address);
        var connection = new Ngtcp2Connection(true, options, endpoint, remote, address, listener, logger);
        try
        {
            connection.InitServer(hd);
            return connection;
        }
        catch
        {
            connection.FreeNative();
            throw;
        }
    }

    private unsafe void InitClient(string serverName)
    {
        Ngtcp2Tls.CreateSession(false, _options, serverName, _connRef, out _session, out _credentials);
        var callbacks = MakeCallbacks(false);
        ngtcp2_settings settings;
        ngtcp2_transport_params tp;
        MakeSettings(&settings, &tp);
        ngtcp2_cid dcid;
        ngtcp2_cid scid;
        dcid.datalen = 18;
        RandomNumberGenerator.Fill(new Span<byte>(dcid.data, 18));
        scid.datalen = UdpEndpoint.LocalCidLength;
        RandomNumberGenerator.Fill(new Span<byte>(scid.data, UdpEndpoint.LocalCidLength));
        nint conn;
        var rv = ngtcp2_conn_client_new_versioned(&conn, &dcid, &scid, _path, NGTCP2_PROTO_VER_V1, NGTCP2_CALLBACKS_V1, &callbacks, NGTCP2_SETTINGS_V2, &settings, NGTCP2_TRANSPORT_PARAMS_V1, &tp, null, (void*)GCHandle.ToIntPtr(_self));
        if (rv != 0)
        {
            throw new TransportException(TransportError.InternalError, "ngtcp2_conn_client_new: " + ErrorText(rv));
        }

        _conn = conn;
        ngtcp2_conn_set_tls_native_handle(conn, _session);
        ApplyKeepAlive();
    }

    private unsafe void InitServer(ngtcp2_pkt_hd* hd)
    {
        Ngtcp2Tls.CreateSession(true, _options, null, _connRef, out _session, out _credentials);
        var callbacks = MakeCallbacks(true);
        ngtcp2_settings settings;
        ngtcp2_transport_params tp;
        MakeSettings(&settings, &tp);
        tp.original_dcid = hd->dcid;
        tp.original_dcid_present = 1;
        tp.disable_active_migration = 1;
        ngtcp2_cid scid;
        scid.datalen = UdpEndpoint.LocalCidLength;
        RandomNumberGenerator.Fill(new Span<byte>(scid.data, UdpEndpoint.LocalCidLength));
        nint conn;
        var rv = ngtcp2_conn_server_new_versioned(&conn, &hd->scid, &scid, _path, hd->version, NGTCP2_CALLBACKS_V1, &callbacks, NGTCP2_SETTINGS_V2, &settings, NGTCP2_TRANSPORT_PARAMS_V1, &tp, null, (void*)GCHandle.ToIntPtr(_self));
        if (rv != 0)
        {
            throw new TransportException(TransportError.InternalError, "ngtcp2_conn_server_new: " + ErrorText(rv));
        }

        _conn = conn;
        ngtcp2_conn_set_tls_native_handle(conn, _session);
        ApplyKeepAlive();
        RegisterCid(hd->dcid.data, (int)hd->dcid.datalen);
        RegisterCid(scid.data, (int)scid.datalen);
    }

    private unsafe void MakeSettings(ngtcp2_settings* settings, ngtcp2_transport_params* tp)
    {
        ngtcp2_settings_default_versioned(NGTCP2_SETTINGS_V2, settings);
        settings->initial_ts = Ngtcp2Clock.Now();
        settings->cc_algo = _options.CongestionControl switch
        {
            CongestionControlAlgorithm.Cubic => NGTCP2_CC_ALGO_CUBIC,
            CongestionControlAlgorithm.Reno => NGTCP2_CC_ALGO_RENO,
            _ => NGTCP2_CC_ALGO_BBR,
        };
        settings->max_tx_udp_payload_size = MaxUdpPayloadSize;
        settings->handshake_timeout = Ngtcp2Clock.ToNanoseconds(_options.HandshakeTimeout);
        settings->max_stream_window = (ulong)Math.Max(_options.MaxStreamReceiveWindow, _options.StreamReceiveWindow);
        settings->max_window = (ulong)Math.Max(_options.MaxConnectionReceiveWindow, _options.ConnectionReceiveWindow);

        ngtcp2_transport_params_default_versioned(NGTCP2_TRANSPORT_PARAMS_V1, tp);
        tp->initial_max_stream_data_bidi_local = (ulong)_options.StreamReceiveWindow;
        tp->initial_max_stream_data_bidi_remote = (ulong)_options.StreamReceiveWindow;
        tp->initial_max_stream_data_uni = (ulong)_options.StreamReceiveWindow;
        tp->initial_max_data = (ulong)_options.ConnectionReceiveWindow;
        tp->initial_max_streams_bidi = (ulong)Math.Max(0, _options.MaxInboundBidirectionalStreams);
        tp->initial_max_streams_uni = (ulong)Math.Max(0, _options.MaxInboundUnidirectionalStreams);
        tp->max_idle_timeout = Ngtcp2Clock.ToNanoseconds(_options.IdleTimeout);
        tp->max_datagram_frame_size = (ulong)Math.Max(0, _options.MaxDatagramFrameSize);
        tp->active_connection_id_limit = 4;
    }

    private void ApplyKeepAlive()
    {
        if (_options.KeepAliveInterval > TimeSpan.Zero)
        {
            ngtcp2_conn_set_keep_alive_timeout(_conn, Ngtcp2Clock.ToNanoseconds(_options.KeepAliveInterval));
        }
    }

    internal void Start() => _thread.Start();

    internal static unsafe Ngtcp2Connection? FromUserData(void* userData) =>
        userData == null ? null : GCHandle.FromIntPtr((nint)userData).Target as Ngtcp2Connection;

    private static unsafe int WriteSockaddr(IPEndPoint endPoint, byte* dest)
    {
        var address = endPoint.Serialize();
        var span = address.Buffer.Span[..address.Size];
        span.CopyTo(new Span<byte>(dest, 64));
        // SocketAddress carries the platform layout already (Linux: family in host order in the first two bytes).
        return address.Size;
    }

    private unsafe void RegisterCid(byte* data, int length)
    {
        var key = new CidKey(data, length);
        _cids.Add(key);
        _endpoint.Register(key, this);
    }

    private unsafe void UnregisterCid(byte* data, int length)
    {
        var key = new CidKey(data, length);
        _cids.Remove(key);
        _endpoint.Unregister(key);
    }

    // ---- Application API -----------------------------------------------------------------------------------

    public async ValueTask<ITransportStream> OpenStreamAsync(StreamDirection direction, PriorityClass priority, CancellationToken cancellationToken = default)
    {
        var request = new OpenRequest(direction, priority);
        Post(new Command(CommandKind.Open, null, 0, request));
        try
        {
            return await request.Completion.Task.WaitAsync(cancellationToken).ConfigureAwait(false);
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

    public bool TrySendDatagram(ReadOnlySpan<byte> payload)
    {
        if (payload.Length > _maxDatagramPayload || _closed.Task.IsCompleted)
        {
            return false;
        }

        if (Interlocked.Increment(ref _datagramsOutCount) > MaxDatagramQueue)
        {
            Interlocked.Decrement(ref _datagramsOutCount);
            return false;
        }

        var buffer = ArrayPool<byte>.Shared.Rent(payload.Length);
        payload.CopyTo(buffer);
        _datagramsOut.Enqueue(new Inbound(buffer, payload.Length));
        Wake();
        return true;
    }

    public async ValueTask<int> ReceiveDatagramAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        while (true)
        {
            Inbound datagram;
            try
            {
                datagram = await _datagramsIn.Reader.ReadAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (ChannelClosedException)
            {
                throw CloseErrorCopy();
            }

            try
            {
                if (datagram.Length <= buffer.Length)
                {
                    datagram.Buffer.AsSpan(0, datagram.Length).CopyTo(buffer.Span);
                    return datagram.Length;
                }
            }
            finally
            {
                ArrayPool<byte>.Shared.Return(datagram.Buffer);
            }
        }
    }

    public async ValueTask CloseAsync(long applicationErrorCode, CancellationToken cancellationToken = default)
    {
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        Post(new Command(CommandKind.Close, null, applicationErrorCode, done));
        try
        {
            await done.Task.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            Post(new Command(CommandKind.Abort, null, applicationErrorCode, null));
            throw;
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        Post(new Command(CommandKind.Abort, null, 0, null));
        if (_thread.IsAlive || _thread.ThreadState == ThreadState.Unstarted)
        {
            if (_thread.ThreadState == ThreadState.Unstarted)
            {
                Teardown(new TransportException(TransportError.ConnectionClosed, "The connection was disposed."));
                return;
            }

            await _closed.Task.ConfigureAwait(false);
        }
    }

    // ---- Posting from other threads ------------------------------------------------------------------------

    internal void EnqueueInbound(byte[] buffer, int length)
    {
        if (length <= 0)
        {
            _endpoint.ReturnBuffer(buffer);
            return;
        }

        if (Interlocked.Increment(ref _inboundCount) > MaxInboundQueue || _closed.Task.IsCompleted)
        {
            Interlocked.Decrement(ref _inboundCount);
            _endpoint.ReturnBuffer(buffer);
            return;
        }

        _inbound.Enqueue(new Inbound(buffer, length));
        Wake();
    }

    internal void SignalData(Ngtcp2Stream stream)
    {
        if (Interlocked.Exchange(ref stream.DataSignaled, 1) == 0)
        {
            Post(new Command(CommandKind.Data, stream, 0, null));
        }
    }

    internal void SignalCredit(Ngtcp2Stream stream)
    {
        if (Interlocked.Exchange(ref stream.CreditSignaled, 1) == 0)
        {
            Post(new Command(CommandKind.Credit, stream, 0, null));
        }
    }

    internal void PostAbort(Ngtcp2Stream stream, AbortDirection direction, long code) =>
        Post(new Command(direction == AbortDirection.Write ? CommandKind.AbortWrite : CommandKind.AbortRead, stream, code, null));

    private void Post(in Command command)
    {
        _commands.Enqueue(command);
        Wake();
    }

    private void Wake()
    {
        if (!_wake.IsSet)
        {
            _wake.Set();
        }
    }

    private TransportException CloseErrorCopy()
    {
        if (_closed.Task.IsCompletedSuccessfully)
        {
            var e = _closed.Task.Result;
            return new TransportException(e.Error, e.Message, e.ApplicationErrorCode, e);
        }

        return new TransportException(TransportError.ConnectionClosed, "The connection is closed.");
    }

    private enum CommandKind
    {
        Data,
        Credit,
        AbortWrite,
        AbortRead,
        Open,
        Close,
        Abort,
    }

    private readonly record struct Command(CommandKind Kind, Ngtcp2Stream? Stream, long Code, object? State);

    private readonly record struct Inbound(byte[] Buffer, int Length);

    private sealed class OpenRequest(StreamDirection direction, PriorityClass priority)
    {
        public StreamDirection Direction { get; } = direction;

        public PriorityClass Priority { get; } = priority;

        public TaskCompletionSource<ITransportStream> Completion { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }
}
