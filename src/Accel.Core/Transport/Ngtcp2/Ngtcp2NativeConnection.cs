using System.Net;
using System.Runtime.InteropServices;
using System.Security.Cryptography;
using Accel.Core.Transport.Ngtcp2.Native;
using static Accel.Core.Transport.Ngtcp2.Native.Ngtcp2Native;

namespace Accel.Core.Transport.Ngtcp2;

/// <summary>
/// The native half of one connection: the <c>ngtcp2_conn</c>, its GnuTLS session and credentials, the path and
/// crypto conn_ref they point into, and the GC handle that lets callbacks find the managed connection. Created on
/// the thread that creates the connection, then used and freed only by the connection's loop.
/// </summary>
internal sealed unsafe class Ngtcp2NativeConnection
{
    private readonly TransportOptions _options;
    private GCHandle _owner;
    private byte* _memory;
    private Ngtcp2Credentials? _credentials;

    public Ngtcp2NativeConnection(Ngtcp2Connection owner, TransportOptions options, IPEndPoint local, IPEndPoint remote)
    {
        _options = options;
        _owner = GCHandle.Alloc(owner);
        _memory = (byte*)NativeMemory.AllocZeroed(512);
        Path = (ngtcp2_path*)(_memory + 128);
        ConnRef = (ngtcp2_crypto_conn_ref*)(_memory + 192);
        Path->local.addr = _memory;
        Path->local.addrlen = (uint)WriteSockaddr(local, _memory);
        Path->remote.addr = _memory + 64;
        Path->remote.addrlen = (uint)WriteSockaddr(remote, _memory + 64);
        _inbound = (ngtcp2_path*)(_memory + 256);
        _inbound->local.addr = _memory + 384;
        _inbound->local.addrlen = (uint)WriteSockaddr(local, _memory + 384);
        _inbound->remote.addr = _memory + 320;
        _inbound->remote.addrlen = (uint)WriteSockaddr(remote, _memory + 320);
        ConnRef->get_conn = (delegate* unmanaged<ngtcp2_crypto_conn_ref*, nint>)&GetConnCallback;
        ConnRef->user_data = UserData;
    }

    /// <summary>The <c>ngtcp2_conn*</c>; 0 before init and after <see cref="Free"/>.</summary>
    public nint Conn { get; private set; }

    /// <summary>The GnuTLS session (for the ALPN and the peer's certificate).</summary>
    public nint Session { get; private set; }

    /// <summary>The current path: what packets are sent on (ngtcp2 writes it with every packet), and what a client reads on.</summary>
    public ngtcp2_path* Path { get; }

    /// <summary>
    /// The path datagrams arrive on: our socket's address and the peer's. A listener's datagrams each carry their source
    /// (<see cref="InboundPath"/>); a client's come on its connected socket, from the server edge. Kept apart from
    /// <see cref="Path"/>, which ngtcp2 overwrites with whatever path it last sent on (a probe, an old path).
    /// </summary>
    private readonly ngtcp2_path* _inbound;

    /// <summary>At a client: the path its socket receives on (our current address, the server edge's).</summary>
    public ngtcp2_path* ReceivePath => _inbound;

    /// <summary>
    /// At a client: moves the connection to <paramref name="local"/> at once, ngtcp2 validating the new path meanwhile
    /// (<c>ngtcp2_conn_initiate_immediate_migration</c>). Returns 0, or the ngtcp2 error, the paths left as they were.
    /// </summary>
    public int MigrateTo(IPEndPoint local, ulong ts)
    {
        var migration = stackalloc byte[sizeof(ngtcp2_path) + 64];
        var path = (ngtcp2_path*)migration;
        path->local.addr = migration + sizeof(ngtcp2_path);
        path->local.addrlen = (uint)WriteSockaddr(local, migration + sizeof(ngtcp2_path));
        path->remote = _inbound->remote;
        path->user_data = null;
        var rv = ngtcp2_conn_initiate_immediate_migration(Conn, path, ts);
        if (rv == 0)
        {
            Buffer.MemoryCopy(path->local.addr, _inbound->local.addr, 64, path->local.addrlen);
            _inbound->local.addrlen = path->local.addrlen;
        }

        return rv;
    }

    /// <summary>The path one received datagram came on: our address and <paramref name="address"/> (a sockaddr, its source).</summary>
    public ngtcp2_path* InboundPath(byte* address, int length)
    {
        Buffer.MemoryCopy(address, _inbound->remote.addr, 64, length);
        _inbound->remote.addrlen = (uint)length;
        return _inbound;
    }

    public ngtcp2_crypto_conn_ref* ConnRef { get; }

    /// <summary>The user data every callback receives: a handle to the managed connection.</summary>
    public void* UserData => (void*)GCHandle.ToIntPtr(_owner);

    /// <summary>The managed connection behind a callback's user data.</summary>
    public static Ngtcp2Connection? OwnerOf(void* userData) =>
        userData == null ? null : GCHandle.FromIntPtr((nint)userData).Target as Ngtcp2Connection;

    /// <summary>The TLS credentials the session uses: the listener's shared ones at a server, its own at a client.</summary>
    public Ngtcp2Credentials? Credentials => _credentials;

    public void InitClient(string serverName)
    {
        _credentials = Ngtcp2Credentials.Load(_options.Identity);
        var callbacks = CreateSession(false, serverName);
        ngtcp2_settings settings;
        ngtcp2_transport_params tp;
        MakeSettings(&settings, &tp);
        ngtcp2_cid dcid;
        ngtcp2_cid scid;
        dcid.datalen = 18;
        RandomNumberGenerator.Fill(new Span<byte>(dcid.data, 18));
        // A client edge uses a zero-length connection ID (RFC 9000 §5.1): its socket is its own, so the 4-tuple finds the
        // connection, and a new socket takes over when it migrates. It then issues no connection IDs at all, and the
        // server edge's ngtcp2 keeps none of ours to count. With IDs, ngtcp2 1.11 miscounts them: a client migration
        // that arrives while the server edge still re-validates the path a NAT rebinding left (the same ID as its current
        // one) makes it retire that ID yet keep it as the new path's fallback, still counted; our replacement then goes
        // past active_connection_id_limit and the server edge closed the connection (CONNECTION_ID_LIMIT_ERROR, issue #11).
        scid.datalen = 0;
        nint conn;
        var rv = ngtcp2_conn_client_new_versioned(&conn, &dcid, &scid, Path, NGTCP2_PROTO_VER_V1, NGTCP2_CALLBACKS_V1, &callbacks, NGTCP2_SETTINGS_V2, &settings, NGTCP2_TRANSPORT_PARAMS_V1, &tp, null, UserData);
        Created(rv, conn, "ngtcp2_conn_client_new");
    }

    /// <summary>
    /// Creates the server side for the client's first packet; <paramref name="scid"/> is our connection ID to route.
    /// After a Retry, <paramref name="originalDcid"/> is the DCID of the client's first Initial (from the validated
    /// token) and the packet's DCID is the one the Retry chose: both go in the transport parameters (RFC 9000 §7.3).
    /// </summary>
    public void InitServer(ngtcp2_pkt_hd* hd, ngtcp2_cid* originalDcid, StatelessReset reset, Ngtcp2Credentials credentials, out ngtcp2_cid scid)
    {
        if (!credentials.TryAddRef())
        {
            throw new TransportException(TransportError.ConnectionAborted, "The listener is closing.");
        }

        _credentials = credentials;
        var callbacks = CreateSession(true, null);
        ngtcp2_settings settings;
        ngtcp2_transport_params tp;
        MakeSettings(&settings, &tp);
        tp.original_dcid_present = 1;
        if (originalDcid is null)
        {
            tp.original_dcid = hd->dcid;
        }
        else
        {
            tp.original_dcid = *originalDcid;
            tp.retry_scid = hd->dcid;
            tp.retry_scid_present = 1;
            settings.token = hd->token;
            settings.tokenlen = hd->tokenlen;
            settings.token_type = NGTCP2_TOKEN_TYPE_RETRY;
        }

        ngtcp2_cid local;
        local.datalen = UdpEndpoint.LocalCidLength;
        RandomNumberGenerator.Fill(new Span<byte>(local.data, UdpEndpoint.LocalCidLength));
        scid = local;
        reset.Token(new ReadOnlySpan<byte>(local.data, (int)local.datalen), new Span<byte>(tp.stateless_reset_token, 16));
        tp.stateless_reset_token_present = 1;
        nint conn;
        var rv = ngtcp2_conn_server_new_versioned(&conn, &hd->scid, &local, Path, hd->version, NGTCP2_CALLBACKS_V1, &callbacks, NGTCP2_SETTINGS_V2, &settings, NGTCP2_TRANSPORT_PARAMS_V1, &tp, null, UserData);
        Created(rv, conn, "ngtcp2_conn_server_new");
    }

    /// <summary>Frees the connection, the TLS session and credentials, the path memory and the handle. Idempotent.</summary>
    public void Free()
    {
        if (Conn != 0)
        {
            ngtcp2_conn_del(Conn);
            Conn = 0;
        }

        if (Session != 0)
        {
            gnutls_deinit(Session);
            Session = 0;
        }

        if (_credentials is not null)
        {
            _credentials.Release();
            _credentials = null;
        }

        if (_owner.IsAllocated)
        {
            NativeMemory.Free(_memory);
            _memory = null;
            _owner.Free();
        }
    }

    /// <summary>Creates the GnuTLS session and credentials for this side; returns the ngtcp2 callbacks for it.</summary>
    private ngtcp2_callbacks CreateSession(bool isServer, string? serverName)
    {
        Session = Ngtcp2Tls.CreateSession(isServer, _options, serverName, ConnRef, _credentials!.Handle);
        return Ngtcp2Callbacks.Make(isServer);
    }

    private void Created(int rv, nint conn, string what)
    {
        if (rv != 0)
        {
            throw new TransportException(TransportError.InternalError, what + ": " + ErrorText(rv));
        }

        Conn = conn;
        ngtcp2_conn_set_tls_native_handle(conn, Session);
        if (_options.KeepAliveInterval > TimeSpan.Zero)
        {
            ngtcp2_conn_set_keep_alive_timeout(conn, Ngtcp2Clock.ToNanoseconds(_options.KeepAliveInterval));
        }
    }

    private void MakeSettings(ngtcp2_settings* settings, ngtcp2_transport_params* tp)
    {
        ngtcp2_settings_default_versioned(NGTCP2_SETTINGS_V2, settings);
        settings->initial_ts = Ngtcp2Clock.Now();
        if (OwnerOf(UserData)?.Qlog is not null)
        {
            settings->qlog_write = (void*)Ngtcp2Qlog.Callback;
        }

        settings->cc_algo = _options.CongestionControl switch
        {
            CongestionControlAlgorithm.Cubic => NGTCP2_CC_ALGO_CUBIC,
            CongestionControlAlgorithm.Reno => NGTCP2_CC_ALGO_RENO,
            _ => NGTCP2_CC_ALGO_BBR,
        };
        settings->max_tx_udp_payload_size = Ngtcp2PacketWriter.MaxUdpPayloadSize;
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
        tp->max_ack_delay = Ngtcp2Clock.ToNanoseconds(_options.MaxAckDelay);
        tp->active_connection_id_limit = 4;
    }

    private static int WriteSockaddr(IPEndPoint endPoint, byte* dest)
    {
        var address = endPoint.Serialize();
        var span = address.Buffer.Span[..address.Size];
        span.CopyTo(new Span<byte>(dest, 64));
        // SocketAddress carries the platform layout already (Linux: family in host order in the first two bytes).
        return address.Size;
    }

    [UnmanagedCallersOnly]
    private static nint GetConnCallback(ngtcp2_crypto_conn_ref* connRef)
    {
        try
        {
            return OwnerOf(connRef->user_data)?.Native.Conn ?? 0;
        }
        catch
        {
            return 0;
        }
    }
}
