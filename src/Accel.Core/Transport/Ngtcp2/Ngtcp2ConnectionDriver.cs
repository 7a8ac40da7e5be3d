using System.Collections.Concurrent;
using Accel.Core.Transport.Ngtcp2.Native;
using Microsoft.Extensions.Logging;
using static Accel.Core.Transport.Ngtcp2.Native.Ngtcp2Native;

namespace Accel.Core.Transport.Ngtcp2;

/// <summary>
/// One connection's turn: it runs the commands the application posted, feeds ngtcp2 the datagrams the endpoint routed
/// here, handles timers, applies what the callbacks deferred, packs packets and publishes statistics
/// (<see cref="RunTurn"/>). Its turns run on the <see cref="Ngtcp2EventLoop"/> it was attached to when it started,
/// the one thread that owns the <c>ngtcp2_conn</c>; other threads only post to its queues and schedule a turn.
/// </summary>
internal sealed unsafe class Ngtcp2ConnectionDriver : Ngtcp2LoopMember
{
    private const int MaxInboundQueue = 8192;
    private const int MaxReadBatch = 64;

    private readonly Ngtcp2Connection _owner;
    private readonly Ngtcp2NativeConnection _native;
    private readonly Ngtcp2StreamTable _streams;
    private UdpEndpoint _endpoint;
    private readonly Ngtcp2PacketWriter _writer;
    private readonly ILogger _logger;
    private readonly Ngtcp2EventLoopGroup _loops;
    private readonly ConcurrentQueue<Ngtcp2Packet> _inbound = new();
    private readonly ConcurrentQueue<Ngtcp2Command> _commands = new();

    private int _inboundCount;
    private bool _finished;
    private bool _closeRequested;
    private ulong _closeDeadline;
    private long _closeCode;
    private List<TaskCompletionSource>? _closeWaiters;
    private long _bytesReceived;
    private long _packetsReceived;
    private long _lost;
    private long _lostSampled;
    private TransportException? _closeError;

    public Ngtcp2ConnectionDriver(Ngtcp2Connection owner, UdpEndpoint endpoint, Ngtcp2PacketWriter writer, Ngtcp2EventLoopGroup loops, ILogger logger)
    {
        _owner = owner;
        _native = owner.Native;
        _streams = owner.Streams;
        _endpoint = endpoint;
        _writer = writer;
        _logger = logger;
        _loops = loops;
    }

    /// <summary>True once <see cref="Start"/> ran: from then on its loop tears it down.</summary>
    public bool Started => Loop is not null;

    /// <summary>Set when the connection ended: its loop tears it down next (<see cref="Teardown"/>).</summary>
    public override bool Finished => _finished;

    /// <summary>Attaches the connection to the least-loaded loop of the engine, for good, and schedules its first turn.</summary>
    public void Start() => _loops.Attach(this);

    public void Post(in Ngtcp2Command command)
    {
        _commands.Enqueue(command);
        Wake();
    }

    public void Wake() => Schedule();

    /// <summary>A datagram the endpoint routed here; dropped when the queue is full or the connection closed.</summary>
    public void EnqueueInbound(byte[] buffer, int length, int addressLength, bool closed)
    {
        if (length <= 0)
        {
            _endpoint.ReturnBuffer(buffer);
            return;
        }

        if (Interlocked.Increment(ref _inboundCount) > MaxInboundQueue || closed)
        {
            Interlocked.Decrement(ref _inboundCount);
            _endpoint.ReturnBuffer(buffer);
            return;
        }

        _inbound.Enqueue(new Ngtcp2Packet(buffer, length, addressLength));
        Wake();
    }

    /// <summary>Teardown: what is still queued fails with <paramref name="error"/> (close waiters complete), buffers go back.</summary>
    public void Drain(TransportException error)
    {
        if (_native.Conn != 0 && _owner.HandshakeDone)
        {
            UpdateStatistics();
        }

        while (_commands.TryDequeue(out var command))
        {
            if (command.State is Ngtcp2OpenRequest open)
            {
                open.Completion.TrySetException(error);
            }
            else if (command.State is TaskCompletionSource waiter)
            {
                waiter.TrySetResult();
            }
            else
            {
                command.Stream?.OnConnectionClosed(error);
            }
        }

        foreach (var waiter in _closeWaiters ?? [])
        {
            waiter.TrySetResult();
        }

        while (_inbound.TryDequeue(out var inbound))
        {
            _endpoint.ReturnBuffer(inbound.Buffer);
        }
    }

    /// <summary>
    /// One turn: commands (budget 4096), datagrams (budget 64), timers, the route check, deferred callback work, close
    /// checks, one send quantum, statistics. Returns when this connection next needs a turn, or that it has work left
    /// now. Never blocks. After it, <see cref="Finished"/> tells whether the connection ended. Every ngtcp2 call reads
    /// the clock itself: ngtcp2 asserts that its timestamps never go back.
    /// </summary>
    public override Ngtcp2Turn RunTurn()
    {
        try
        {
            return Turn();
        }
        catch (Exception e)
        {
            Ngtcp2Log.CallbackFailed(_logger, e, "loop");
            Finish(new TransportException(TransportError.InternalError, "The connection loop failed: " + e.Message, null, e));
            return default;
        }
    }

    /// <summary>The end of the connection, on its loop thread: releases everything (once).</summary>
    public override void Teardown() =>
        _owner.Teardown(_closeError ?? new TransportException(TransportError.InternalError, "The connection loop ended."));

    private Ngtcp2Turn Turn()
    {
        ProcessCommands();
        if (!_finished)
        {
            ProcessInbound();
        }

        if (!_finished)
        {
            HandleExpiry();
        }

        if (!_finished && _owner.Migration is { } migration && _owner.HandshakeTask.IsCompletedSuccessfully)
        {
            FollowRoute(migration);
        }

        if (_finished)
        {
            return default;
        }

        _streams.AfterEvents(_native.Conn, _owner.HandshakeDone);
        if (_closeRequested && _streams.IsSendDrained() && (_streams.PeerReleasedClosedLocal(_native.Conn) || Ngtcp2Clock.Now() >= _closeDeadline))
        {
            SendClose(true, _closeCode);
            Finish(new TransportException(TransportError.ConnectionClosed, "The connection was closed locally.", _closeCode));
            return default;
        }

        var quantumUsed = _writer.WritePackets(_native.Conn, _native.Path, _streams, _owner.Datagrams, _owner.HandshakeDone, ShutGrace(), out var failure);
        if (failure != 0)
        {
            SendClose(false, failure);
            Finish(new TransportException(TransportError.InternalError, "ngtcp2 write: " + ErrorText(failure)));
            return default;
        }

        if (_writer.DestinationChanged)
        {
            FollowPeer();
        }

        UpdateStatistics();
        return NextTurn(quantumUsed);
    }

    /// <summary>
    /// When the next turn is due: now when datagrams or commands wait, else the earliest of ngtcp2's timer, a stopped
    /// stream's grace, a close's deadline and the route check, at most a second away. Pacing gaps shorter than the OS
    /// timer (about a millisecond) are not slept: after a full send quantum the connection has work left and gets its
    /// next turn at once, so the pacing rate holds on average over a millisecond instead of collapsing to one quantum
    /// per timer tick.
    /// </summary>
    private Ngtcp2Turn NextTurn(bool quantumUsed)
    {
        var now = Ngtcp2Clock.Now();
        if (!_inbound.IsEmpty || !_commands.IsEmpty)
        {
            return new Ngtcp2Turn(now, true);
        }

        var deadline = Math.Min(ngtcp2_conn_get_expiry(_native.Conn), _streams.NextShutDeadline);
        if (_closeRequested)
        {
            deadline = Math.Min(deadline, _closeDeadline);
        }

        if (_owner.Migration is { } migration && _owner.HandshakeTask.IsCompletedSuccessfully)
        {
            deadline = Math.Min(deadline, migration.NextCheck);
        }

        if (deadline <= now)
        {
            return new Ngtcp2Turn(now, true);
        }

        var ns = deadline - now;
        if (ns < 100_000 || (quantumUsed && ns < 1_000_000))
        {
            return new Ngtcp2Turn(now, true);
        }

        return new Ngtcp2Turn(Math.Min(deadline, now + 1_000_000_000), false);
    }

    /// <summary>How long a stream the peer stopped waits for the code before its writer fails: 3 × SRTT in [50 ms, 1 s].</summary>
    private ulong ShutGrace()
    {
        // The loop's last RTT snapshot: no ngtcp2 calls while a packet is being coalesced.
        var srtt = (ulong)(_owner.GetStatistics().SmoothedRtt ?? TimeSpan.Zero).Ticks * 100;
        return Math.Clamp(3 * srtt, 50_000_000UL, 1_000_000_000UL);
    }

    private void ProcessCommands()
    {
        var budget = 4096;
        while (budget-- > 0 && _commands.TryDequeue(out var command))
        {
            var stream = command.Stream;
            switch (command.Kind)
            {
                case Ngtcp2CommandKind.Data:
                    Volatile.Write(ref stream!.DataSignaled, 0);
                    _streams.ScheduleIfReady(stream);
                    break;
                case Ngtcp2CommandKind.Credit:
                    Volatile.Write(ref stream!.CreditSignaled, 0);
                    var credit = stream.TakeCredit();
                    if (credit > 0)
                    {
                        if (!stream.NativeClosed)
                        {
                            ngtcp2_conn_extend_max_stream_offset(_native.Conn, stream.Id, (ulong)credit);
                        }

                        ngtcp2_conn_extend_max_offset(_native.Conn, (ulong)credit);
                    }

                    break;
                case Ngtcp2CommandKind.AbortWrite:
                    if (!stream!.NativeClosed)
                    {
                        ngtcp2_conn_shutdown_stream_write(_native.Conn, 0, stream.Id, (ulong)command.Code);
                    }

                    _streams.Unschedule(stream);
                    break;
                case Ngtcp2CommandKind.AbortRead:
                    if (!stream!.NativeClosed)
                    {
                        ngtcp2_conn_shutdown_stream_read(_native.Conn, 0, stream.Id, (ulong)command.Code);
                    }

                    break;
                case Ngtcp2CommandKind.Open:
                    _streams.Open(_native.Conn, (Ngtcp2OpenRequest)command.State!, _owner.HandshakeDone);
                    break;
                case Ngtcp2CommandKind.Close:
                    _closeRequested = true;
                    _closeCode = command.Code;
                    _closeDeadline = Ngtcp2StreamTable.ReleaseDeadline(_native.Conn);
                    (_closeWaiters ??= []).Add((TaskCompletionSource)command.State!);
                    break;
                case Ngtcp2CommandKind.Abort:
                    SendClose(true, command.Code);
                    Finish(new TransportException(TransportError.ConnectionClosed, "The connection was closed locally.", command.Code));
                    return;
            }
        }
    }

    private void ProcessInbound()
    {
        ngtcp2_pkt_info pi = default;
        for (var i = 0; i < MaxReadBatch && _inbound.TryDequeue(out var datagram); i++)
        {
            Interlocked.Decrement(ref _inboundCount);
            int rv;
            fixed (byte* p = datagram.Buffer)
            {
                // A listener's datagram carries its source address: ngtcp2 sees a new path when it changes.
                var path = datagram.AddressLength > 0 ? _native.InboundPath(p + UdpEndpoint.AddressOffset, datagram.AddressLength) : _native.ReceivePath;
                rv = ngtcp2_conn_read_pkt_versioned(_native.Conn, path, NGTCP2_PKT_INFO_V1, &pi, p, (nuint)datagram.Length, Ngtcp2Clock.Now());
            }

            _endpoint.ReturnBuffer(datagram.Buffer);
            _packetsReceived++;
            _bytesReceived += datagram.Length;
            if (rv != 0 && rv != NGTCP2_ERR_DISCARD_PKT)
            {
                OnReadError(rv);
                return;
            }
        }
    }

    private void OnReadError(int rv)
    {
        switch (rv)
        {
            case NGTCP2_ERR_DRAINING:
                Finish(_owner.PeerReset
                    ? TransportException.PeerReset()
                    : Ngtcp2CloseErrors.FromPeer(_native.Conn, _owner.HandshakeDone));
                return;
            case NGTCP2_ERR_DROP_CONN:
                Finish(new TransportException(TransportError.ConnectionClosed, "ngtcp2 dropped the connection."));
                return;
            case NGTCP2_ERR_CLOSING:
                Finish(_closeError ?? new TransportException(TransportError.ConnectionClosed, "The connection is closing."));
                return;
        }

        var authentication = _owner.AuthFailure is not null || (rv == NGTCP2_ERR_CRYPTO && !_owner.HandshakeDone);
        if (authentication)
        {
            SendTlsAlertClose();
        }
        else
        {
            SendClose(false, rv);
        }

        Finish(Ngtcp2CloseErrors.FromReadFailure(rv, _owner.CallbackException, authentication, _owner.AuthFailure));
    }

    private void HandleExpiry()
    {
        var now = Ngtcp2Clock.Now();
        if (ngtcp2_conn_get_expiry(_native.Conn) > now)
        {
            return;
        }

        var rv = ngtcp2_conn_handle_expiry(_native.Conn, now);
        if (rv == 0)
        {
            return;
        }

        if (rv is not (NGTCP2_ERR_IDLE_CLOSE or NGTCP2_ERR_HANDSHAKE_TIMEOUT))
        {
            SendClose(false, rv);
        }

        Finish(Ngtcp2CloseErrors.FromExpiry(rv, _owner.HandshakeDone));
    }

    private void SendClose(bool application, long codeOrLibError) => _writer.WriteClose(_native.Conn, _native.Path, application, codeOrLibError);

    /// <summary>
    /// Closes a failed handshake with CRYPTO_ERROR carrying the TLS alert (bad_certificate, certificate_required…),
    /// so the peer can tell an authentication failure from a protocol violation.
    /// </summary>
    private void SendTlsAlertClose() => _writer.WriteTlsAlertClose(_native.Conn, _native.Path, _owner.AuthFailure is null && _owner.IsServer);

    private void Finish(TransportException error)
    {
        if (_finished)
        {
            return;
        }

        _finished = true;
        _closeError = error;
    }

    /// <summary>
    /// Lost packets as far as ngtcp2 1.x tells (its conn_info has no loss count): packets with STREAM frames of the open
    /// streams declared lost, summed at most every 20 ms and never decreasing (a closed stream's count is gone).
    /// </summary>
    private long LostPackets()
    {
        var now = Environment.TickCount64;
        if (now - _lostSampled >= 20)
        {
            _lostSampled = now;
            _lost = Math.Max(_lost, _streams.StreamLossCount(_native.Conn));
        }

        return _lost;
    }

    /// <summary>At a client, once the handshake is confirmed (no sooner may it migrate): moves to a new local address when the route changed; ends the connection if that path failed.</summary>
    private void FollowRoute(Ngtcp2Migration migration)
    {
        if (migration.ValidationFailed)
        {
            Finish(new TransportException(TransportError.ConnectionClosed, "The path from the new local address " + _owner.LocalEndPoint + " failed validation."));
            return;
        }

        if (migration.Poll(_endpoint) is { } next)
        {
            _endpoint = _writer.Endpoint = next;
            _owner.Rebind(next);
        }
    }

    /// <summary>ngtcp2 moved the connection to the peer's new address (NAT rebinding, a new route): follow it.</summary>
    private void FollowPeer()
    {
        _writer.DestinationChanged = false;
        if (_writer.Destination is { } destination && _owner.RemoteEndPoint is System.Net.IPEndPoint old)
        {
            var now = (System.Net.IPEndPoint)old.Create(destination);
            if (!now.Equals(old))
            {
                Ngtcp2Log.PeerMoved(_logger, old, now);
                _owner.RemoteEndPoint = now;
            }
        }
    }

    private void UpdateStatistics()
    {
        ngtcp2_conn_info info;
        ngtcp2_conn_get_conn_info_versioned(_native.Conn, NGTCP2_CONN_INFO_V1, &info);
        var stats = new ConnectionStatistics
        {
            SmoothedRtt = TimeSpan.FromTicks((long)(info.smoothed_rtt / 100)),
            MinRtt = info.min_rtt == ulong.MaxValue ? null : TimeSpan.FromTicks((long)(info.min_rtt / 100)),
            LatestRtt = TimeSpan.FromTicks((long)(info.latest_rtt / 100)),
            RttVariance = TimeSpan.FromTicks((long)(info.rttvar / 100)),
            CongestionWindow = (long)info.cwnd,
            BytesInFlight = (long)info.bytes_in_flight,
            BytesSent = _writer.BytesSent,
            BytesReceived = _bytesReceived,
            PacketsSent = _writer.PacketsSent,
            PacketsReceived = _packetsReceived,
            PacketsLost = LostPackets(),
        };
        _owner.Publish(stats);
    }
}
