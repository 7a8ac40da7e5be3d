using System.Buffers;
using System.Runtime.InteropServices;
using Accel.Core.Transport.Scheduling;
using Accel.Core.Transport.Ngtcp2.Native;
using static Accel.Core.Transport.Ngtcp2.Native.Ngtcp2Native;

namespace Accel.Core.Transport.Ngtcp2;

internal sealed unsafe partial class Ngtcp2Connection
{
    private const int MaxReadBatch = 64;
    private const int MaxVecs = 4;
    private const int SendBatchBytes = 64 * 1024;

    // Loop-owned state.
    private readonly PriorityScheduler<Ngtcp2Stream> _scheduler;
    private readonly Dictionary<long, Ngtcp2Stream> _streams = [];
    private readonly List<Ngtcp2Stream> _blocked = [];
    private readonly List<Ngtcp2Stream> _writeShut = [];
    private ulong _nextShutDeadline = ulong.MaxValue;
    private readonly Queue<OpenRequest> _pendingBidi = new();
    private readonly Queue<OpenRequest> _pendingUni = new();
    private readonly byte[] _sendBuffer = GC.AllocateArray<byte>(SendBatchBytes, pinned: true);
    private bool _finished;
    private bool _handshakeDone;
    private bool _retryOpens;
    private long _remoteBidiClosed;
    private long _remoteUniClosed;
    private long _orphanCredit;
    private bool _closeRequested;
    private long _closeCode;
    private List<TaskCompletionSource>? _closeWaiters;
    private long _bytesSent;
    private long _bytesReceived;
    private long _packetsSent;
    private long _packetsReceived;
    private TransportException? _closeError;

    private void Run()
    {
        try
        {
            while (!_finished)
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

                if (_finished)
                {
                    break;
                }

                AfterEvents();
                if (_closeRequested && IsSendDrained())
                {
                    SendClose(true, _closeCode);
                    Finish(new TransportException(TransportError.ConnectionClosed, "The connection was closed locally.", _closeCode));
                    break;
                }

                var quantumUsed = WritePackets();
                if (_finished)
                {
                    break;
                }

                UpdateStatistics();
                WaitForWork(quantumUsed);
            }
        }
        catch (Exception e)
        {
            Ngtcp2Log.CallbackFailed(_logger, e, "loop");
            Finish(new TransportException(TransportError.InternalError, "The connection loop failed: " + e.Message, null, e));
        }
        finally
        {
            Teardown(_closeError ?? new TransportException(TransportError.InternalError, "The connection loop ended."));
        }
    }

    /// <summary>
    /// Sleeps until a datagram, a command or the next ngtcp2 timer. Pacing gaps shorter than the OS timer (about a
    /// millisecond) are not slept: after a full send quantum the loop yields and sends the next one, so the pacing
    /// rate holds on average over a millisecond instead of collapsing to one quantum per timer tick.
    /// </summary>
    private void WaitForWork(bool quantumUsed)
    {
        _wake.Reset();
        if (!_inbound.IsEmpty || !_commands.IsEmpty)
        {
            return;
        }

        var expiry = Math.Min(ngtcp2_conn_get_expiry(_conn), _nextShutDeadline);
        var now = Ngtcp2Clock.Now();
        if (expiry <= now)
        {
            return;
        }

        var ns = expiry - now;
        if (ns < 100_000 || (quantumUsed && ns < 1_000_000))
        {
            // A pacing gap shorter than the timer resolution: yield instead of sleeping a whole millisecond.
            Thread.Yield();
            return;
        }

        var ms = (int)Math.Min((ns + 999_999) / 1_000_000, 1000);
        _wake.Wait(ms);
    }

    // ---- Commands ------------------------------------------------------------------------------------------

    private void ProcessCommands()
    {
        var budget = 4096;
        while (budget-- > 0 && _commands.TryDequeue(out var command))
        {
            switch (command.Kind)
            {
                case CommandKind.Data:
                    Volatile.Write(ref command.Stream!.DataSignaled, 0);
                    ScheduleIfReady(command.Stream);
                    break;
                case CommandKind.Credit:
                    {
                        var stream = command.Stream!;
                        Volatile.Write(ref stream.CreditSignaled, 0);
                        var credit = stream.TakeCredit();
                        if (credit > 0)
                        {
                            if (!stream.NativeClosed)
                            {
                                ngtcp2_conn_extend_max_stream_offset(_conn, stream.Id, (ulong)credit);
                            }

                            ngtcp2_conn_extend_max_offset(_conn, (ulong)credit);
                        }

                        break;
                    }

                case CommandKind.AbortWrite:
                    if (!command.Stream!.NativeClosed)
                    {
                        ngtcp2_conn_shutdown_stream_write(_conn, 0, command.Stream.Id, (ulong)command.Code);
                    }

                    Unschedule(command.Stream);
                    break;
                case CommandKind.AbortRead:
                    if (!command.Stream!.NativeClosed)
                    {
                        ngtcp2_conn_shutdown_stream_read(_conn, 0, command.Stream.Id, (ulong)command.Code);
                    }

                    break;
                case CommandKind.Open:
                    {
                        var request = (OpenRequest)command.State!;
                        var queue = request.Direction == StreamDirection.Bidirectional ? _pendingBidi : _pendingUni;
                        if (queue.Count > 0 || !TryOpen(request))
                        {
                            queue.Enqueue(request);
                        }

                        break;
                    }

                case CommandKind.Close:
                    _closeRequested = true;
                    _closeCode = command.Code;
                    (_closeWaiters ??= []).Add((TaskCompletionSource)command.State!);
                    break;
                case CommandKind.Abort:
                    SendClose(true, command.Code);
                    Finish(new TransportException(TransportError.ConnectionClosed, "The connection was closed locally.", command.Code));
                    return;
            }
        }
    }

    private bool TryOpen(OpenRequest request)
    {
        if (request.Completion.Task.IsCompleted)
        {
            return true;
        }

        if (!_handshakeDone)
        {
            return false;
        }

        long id;
        var rv = request.Direction == StreamDirection.Bidirectional
            ? ngtcp2_conn_open_bidi_stream(_conn, &id, null)
            : ngtcp2_conn_open_uni_stream(_conn, &id, null);
        if (rv == NGTCP2_ERR_STREAM_ID_BLOCKED)
        {
            return false;
        }

        if (rv != 0)
        {
            request.Completion.TrySetException(new TransportException(TransportError.InternalError, "ngtcp2 could not open a stream: " + ErrorText(rv)));
            return true;
        }

        var stream = new Ngtcp2Stream(this, id, _isServer, request.Priority);
        _streams[id] = stream;
        if (!request.Completion.TrySetResult(stream))
        {
            ngtcp2_conn_shutdown_stream_write(_conn, 0, id, 0);
            ngtcp2_conn_shutdown_stream_read(_conn, 0, id, 0);
        }

        return true;
    }

    private void RetryOpens()
    {
        while (_pendingBidi.Count > 0 && TryOpen(_pendingBidi.Peek()))
        {
            _pendingBidi.Dequeue();
        }

        while (_pendingUni.Count > 0 && TryOpen(_pendingUni.Peek()))
        {
            _pendingUni.Dequeue();
        }
    }

    private void MarkWriteShut(Ngtcp2Stream stream, ulong now)
    {
        if (stream.ShutDeadline != 0 || stream.NativeClosed)
        {
            return;
        }

        // No ngtcp2 calls here: this runs while a packet is being coalesced. The loop's last RTT snapshot will do.
        var srtt = (ulong)(_stats.SmoothedRtt ?? TimeSpan.Zero).Ticks * 100;
        var grace = Math.Clamp(3 * srtt, 50_000_000UL, 1_000_000_000UL);
        stream.ShutDeadline = now + grace;
        _writeShut.Add(stream);
    }

    /// <summary>Writers of streams the peer stopped learn it with the code (stream closed) or, failing that, after the grace.</summary>
    private void ExpireWriteShut(ulong now)
    {
        _nextShutDeadline = ulong.MaxValue;
        for (var i = _writeShut.Count - 1; i >= 0; i--)
        {
            var stream = _writeShut[i];
            if (stream.NativeClosed || now >= stream.ShutDeadline)
            {
                if (!stream.NativeClosed)
                {
                    stream.OnWriteShutByPeer();
                }

                _writeShut.RemoveAt(i);
            }
            else
            {
                _nextShutDeadline = Math.Min(_nextShutDeadline, stream.ShutDeadline);
            }
        }
    }

    private void ScheduleIfReady(Ngtcp2Stream stream)
    {
        if (!stream.Queued && !stream.Blocked && !stream.NativeClosed && stream.ShutDeadline == 0 && stream.HasPendingSend())
        {
            stream.Queued = true;
            _scheduler.Enqueue(stream, stream.Priority);
        }
    }

    private void Unschedule(Ngtcp2Stream stream)
    {
        if (stream.Queued)
        {
            _scheduler.Remove(stream);
            stream.Queued = false;
        }

        if (stream.Blocked)
        {
            stream.Blocked = false;
            _blocked.Remove(stream);
        }
    }

    /// <summary>Work deferred out of callbacks (ngtcp2 API calls are not allowed inside them).</summary>
    private void AfterEvents()
    {
        if (_writeShut.Count > 0)
        {
            ExpireWriteShut(Ngtcp2Clock.Now());
        }

        if (_orphanCredit > 0)
        {
            ngtcp2_conn_extend_max_offset(_conn, (ulong)_orphanCredit);
            _orphanCredit = 0;
        }

        if (_remoteBidiClosed > 0)
        {
            ngtcp2_conn_extend_max_streams_bidi(_conn, (nuint)_remoteBidiClosed);
            _remoteBidiClosed = 0;
        }

        if (_remoteUniClosed > 0)
        {
            ngtcp2_conn_extend_max_streams_uni(_conn, (nuint)_remoteUniClosed);
            _remoteUniClosed = 0;
        }

        if (_retryOpens || (_handshakeDone && (_pendingBidi.Count > 0 || _pendingUni.Count > 0)))
        {
            _retryOpens = false;
            RetryOpens();
        }

        if (_blocked.Count > 0 && ngtcp2_conn_get_max_data_left(_conn) > 0)
        {
            for (var i = _blocked.Count - 1; i >= 0; i--)
            {
                var stream = _blocked[i];
                if (stream.NativeClosed || ngtcp2_conn_get_max_stream_data_left(_conn, stream.Id) > 0)
                {
                    stream.Blocked = false;
                    _blocked.RemoveAt(i);
                    ScheduleIfReady(stream);
                }
            }
        }
    }

    // ---- Receive -------------------------------------------------------------------------------------------

    private void ProcessInbound()
    {
        ngtcp2_pkt_info pi = default;
        for (var i = 0; i < MaxReadBatch && _inbound.TryDequeue(out var datagram); i++)
        {
            Interlocked.Decrement(ref _inboundCount);
            int rv;
            fixed (byte* p = datagram.Buffer)
            {
                rv = ngtcp2_conn_read_pkt_versioned(_conn, _path, NGTCP2_PKT_INFO_V1, &pi, p, (nuint)datagram.Length, Ngtcp2Clock.Now());
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
                Finish(PeerCloseError());
                return;
            case NGTCP2_ERR_DROP_CONN:
                Finish(new TransportException(TransportError.ConnectionClosed, "ngtcp2 dropped the connection."));
                return;
            case NGTCP2_ERR_CLOSING:
                Finish(_closeError ?? new TransportException(TransportError.ConnectionClosed, "The connection is closing."));
                return;
        }

        var authentication = _authFailure is not null || (rv == NGTCP2_ERR_CRYPTO && !_handshakeDone);
        if (authentication)
        {
            SendTlsAlertClose(rv);
        }
        else
        {
            SendClose(false, rv);
        }

        if (_callbackException is not null)
        {
            Finish(_callbackException as TransportException ?? new TransportException(TransportError.InternalError, "A connection callback failed: " + _callbackException.Message, null, _callbackException));
        }
        else if (authentication)
        {
            Finish(new TransportException(TransportError.AuthenticationFailed, "TLS authentication failed: " + (_authFailure ?? ErrorText(rv))));
        }
        else
        {
            Finish(new TransportException(TransportError.ProtocolError, "ngtcp2: " + ErrorText(rv)));
        }
    }

    private TransportException PeerCloseError()
    {
        var ccerr = ngtcp2_conn_get_ccerr(_conn);
        if (ccerr != null && ccerr->type == NGTCP2_CCERR_TYPE_APPLICATION)
        {
            return new TransportException(TransportError.ConnectionAborted, "The peer closed the connection.", (long)ccerr->error_code);
        }

        var code = ccerr == null ? 0UL : ccerr->error_code;
        if (!_handshakeDone || (code >= 0x100 && code <= 0x1ff))
        {
            return code is >= 0x100 and <= 0x1ff
                ? new TransportException(TransportError.AuthenticationFailed, $"The peer refused the TLS handshake (alert {code - 0x100}).")
                : new TransportException(TransportError.ConnectionRefused, $"The peer closed the connection during the handshake (0x{code:x}).");
        }

        return code == 0
            ? new TransportException(TransportError.ConnectionAborted, "The peer closed the connection.", 0)
            : new TransportException(TransportError.ProtocolError, $"The peer closed the connection with transport error 0x{code:x}.");
    }

    private void HandleExpiry()
    {
        var now = Ngtcp2Clock.Now();
        if (ngtcp2_conn_get_expiry(_conn) > now)
        {
            return;
        }

        var rv = ngtcp2_conn_handle_expiry(_conn, now);
        switch (rv)
        {
            case 0:
                return;
            case NGTCP2_ERR_IDLE_CLOSE:
                Finish(_handshakeDone
                    ? new TransportException(TransportError.ConnectionIdle, "No packet arrived within the idle timeout.")
                    : new TransportException(TransportError.ConnectionRefused, "The peer did not answer the handshake."));
                return;
            case NGTCP2_ERR_HANDSHAKE_TIMEOUT:
                Finish(new TransportException(TransportError.ConnectionRefused, "The handshake timed out."));
                return;
            default:
                SendClose(false, rv);
                Finish(new TransportException(TransportError.InternalError, "ngtcp2 timer: " + ErrorText(rv)));
                return;
        }
    }

    // ---- Send ----------------------------------------------------------------------------------------------

    /// <summary>Packs and sends packets; returns true when it stopped because the send quantum was used up.</summary>
    private bool WritePackets()
    {
        var ts = Ngtcp2Clock.Now();
        var quantum = (int)ngtcp2_conn_get_send_quantum(_conn);
        var maxPackets = Math.Clamp(quantum / MaxUdpPayloadSize, 1, 64);
        var gso = _endpoint.GsoSegmentSize;
        var vecs = stackalloc ngtcp2_vec[MaxVecs];
        ngtcp2_pkt_info pi = default;
        var packets = 0;
        var batchLength = 0;
        var batchCount = 0;

        fixed (byte* buffer = _sendBuffer)
        {
            while (packets < maxPackets)
            {
                var dest = buffer + batchLength;
                var room = (nuint)MaxUdpPayloadSize;
                nint nwrite;
                nint ndatalen = -1;

                if (!_datagramsOut.IsEmpty && _handshakeDone)
                {
                    _datagramsOut.TryPeek(out var dgram);
                    int accepted = 0;
                    fixed (byte* d = dgram.Buffer)
                    {
                        var vec = new ngtcp2_vec { @base = d, len = (nuint)dgram.Length };
                        nwrite = ngtcp2_conn_writev_datagram_versioned(_conn, _path, NGTCP2_PKT_INFO_V1, &pi, dest, room, &accepted, NGTCP2_WRITE_DATAGRAM_FLAG_MORE, 0, &vec, 1, ts);
                    }

                    if (accepted != 0 || nwrite is NGTCP2_ERR_INVALID_STATE or NGTCP2_ERR_INVALID_ARGUMENT)
                    {
                        _datagramsOut.TryDequeue(out _);
                        Interlocked.Decrement(ref _datagramsOutCount);
                        ArrayPool<byte>.Shared.Return(dgram.Buffer);
                    }

                    if (nwrite == NGTCP2_ERR_WRITE_MORE || nwrite is NGTCP2_ERR_INVALID_STATE or NGTCP2_ERR_INVALID_ARGUMENT)
                    {
                        continue;
                    }
                }
                else if (_handshakeDone && _scheduler.TryDequeue(out var grant))
                {
                    var stream = grant.Sender;
                    stream.Queued = false;
                    var count = stream.PrepareSend(vecs, MaxVecs, grant.Bytes, out var bytes, out var fin);
                    var flags = NGTCP2_WRITE_STREAM_FLAG_MORE | (fin ? NGTCP2_WRITE_STREAM_FLAG_FIN : 0);
                    nwrite = ngtcp2_conn_writev_stream_versioned(_conn, _path, NGTCP2_PKT_INFO_V1, &pi, dest, room, &ndatalen, flags, stream.Id, vecs, (nuint)count, ts);
                    if (ndatalen >= 0)
                    {
                        stream.OnSent(ndatalen, fin && ndatalen == bytes);
                    }

                    _scheduler.Complete(grant, (int)Math.Max(0, ndatalen));
                    switch (nwrite)
                    {
                        case NGTCP2_ERR_STREAM_DATA_BLOCKED:
                            stream.Blocked = true;
                            _blocked.Add(stream);
                            continue;
                        case NGTCP2_ERR_STREAM_SHUT_WR:
                        case NGTCP2_ERR_STREAM_NOT_FOUND:
                            // ngtcp2 1.11 has no callback for a received STOP_SENDING: it answers with RESET_STREAM
                            // itself, and the write side is found shut here. The code arrives with stream_close once
                            // the peer acknowledges that reset, so the writer is failed then (or after a grace period).
                            MarkWriteShut(stream, ts);
                            continue;
                        case NGTCP2_ERR_WRITE_MORE:
                            ScheduleIfReady(stream);
                            continue;
                    }

                    ScheduleIfReady(stream);
                }
                else
                {
                    nwrite = ngtcp2_conn_writev_stream_versioned(_conn, _path, NGTCP2_PKT_INFO_V1, &pi, dest, room, &ndatalen, 0, -1, null, 0, ts);
                }

                if (nwrite < 0)
                {
                    SendClose(false, (int)nwrite);
                    Finish(new TransportException(TransportError.InternalError, "ngtcp2 write: " + ErrorText((int)nwrite)));
                    return false;
                }

                if (nwrite == 0)
                {
                    break;
                }

                packets++;
                _packetsSent++;
                _bytesSent += nwrite;

                // GSO: packets of exactly the segment size are batched into one send; a shorter one ends the batch.
                if (gso == 0)
                {
                    _endpoint.Send(new ReadOnlySpan<byte>(dest, (int)nwrite), _remoteAddress);
                    continue;
                }

                batchLength += (int)nwrite;
                batchCount++;
                if (nwrite != gso || batchLength + MaxUdpPayloadSize > SendBatchBytes || batchCount >= 64)
                {
                    _endpoint.Send(new ReadOnlySpan<byte>(buffer, batchLength), _remoteAddress);
                    batchLength = 0;
                    batchCount = 0;
                }
            }

            if (batchLength > 0)
            {
                _endpoint.Send(new ReadOnlySpan<byte>(buffer, batchLength), _remoteAddress);
            }
        }

        ngtcp2_conn_update_pkt_tx_time(_conn, ts);
        return packets >= maxPackets;
    }

    private bool IsSendDrained()
    {
        foreach (var stream in _streams.Values)
        {
            if (!stream.NativeClosed && stream.CanWrite && !stream.IsSendDrained())
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>Writes and sends CONNECTION_CLOSE: an application close, or the error ngtcp2 reported.</summary>
    private void SendClose(bool application, long codeOrLibError)
    {
        if (_conn == 0 || ngtcp2_conn_in_closing_period(_conn) != 0 || ngtcp2_conn_in_draining_period(_conn) != 0)
        {
            return;
        }

        ngtcp2_ccerr ccerr;
        ngtcp2_ccerr_default(&ccerr);
        if (application)
        {
            ngtcp2_ccerr_set_application_error(&ccerr, (ulong)codeOrLibError, null, 0);
        }
        else
        {
            ngtcp2_ccerr_set_liberr(&ccerr, (int)codeOrLibError, null, 0);
        }

        ngtcp2_pkt_info pi = default;
        fixed (byte* buffer = _sendBuffer)
        {
            var n = ngtcp2_conn_write_connection_close_versioned(_conn, _path, NGTCP2_PKT_INFO_V1, &pi, buffer, MaxUdpPayloadSize, &ccerr, Ngtcp2Clock.Now());
            if (n > 0)
            {
                _endpoint.Send(new ReadOnlySpan<byte>(buffer, (int)n), _remoteAddress);
            }
        }
    }

    /// <summary>
    /// Closes a failed handshake with CRYPTO_ERROR carrying the TLS alert (bad_certificate, certificate_required…),
    /// so the peer can tell an authentication failure from a protocol violation.
    /// </summary>
    private void SendTlsAlertClose(int rv)
    {
        if (_conn == 0 || ngtcp2_conn_in_closing_period(_conn) != 0 || ngtcp2_conn_in_draining_period(_conn) != 0)
        {
            return;
        }

        const byte badCertificate = 42;
        const byte certificateRequired = 116;
        var alert = ngtcp2_conn_get_tls_alert(_conn);
        if (alert == 0)
        {
            alert = _authFailure is null && _isServer ? certificateRequired : badCertificate;
        }

        ngtcp2_ccerr ccerr;
        ngtcp2_ccerr_default(&ccerr);
        ngtcp2_ccerr_set_tls_alert(&ccerr, alert, null, 0);
        ngtcp2_pkt_info pi = default;
        fixed (byte* buffer = _sendBuffer)
        {
            var n = ngtcp2_conn_write_connection_close_versioned(_conn, _path, NGTCP2_PKT_INFO_V1, &pi, buffer, MaxUdpPayloadSize, &ccerr, Ngtcp2Clock.Now());
            if (n > 0)
            {
                _endpoint.Send(new ReadOnlySpan<byte>(buffer, (int)n), _remoteAddress);
            }
        }
    }

    private void Finish(TransportException error)
    {
        if (_finished)
        {
            return;
        }

        _finished = true;
        _closeError = error;
    }

    private void UpdateStatistics()
    {
        ngtcp2_conn_info info;
        ngtcp2_conn_get_conn_info_versioned(_conn, NGTCP2_CONN_INFO_V1, &info);
        var stats = new ConnectionStatistics
        {
            SmoothedRtt = TimeSpan.FromTicks((long)(info.smoothed_rtt / 100)),
            MinRtt = info.min_rtt == ulong.MaxValue ? null : TimeSpan.FromTicks((long)(info.min_rtt / 100)),
            LatestRtt = TimeSpan.FromTicks((long)(info.latest_rtt / 100)),
            RttVariance = TimeSpan.FromTicks((long)(info.rttvar / 100)),
            CongestionWindow = (long)info.cwnd,
            BytesInFlight = (long)info.bytes_in_flight,
            BytesSent = _bytesSent,
            BytesReceived = _bytesReceived,
            PacketsSent = _packetsSent,
            PacketsReceived = _packetsReceived,
        };
        lock (_statsLock)
        {
            _stats = stats;
        }
    }

    /// <summary>Releases everything; runs once, on the loop thread at its end (or from Dispose if it never started).</summary>
    private void Teardown(TransportException error)
    {
        if (_conn != 0 && _handshakeDone)
        {
            UpdateStatistics();
        }

        foreach (var key in _cids)
        {
            _endpoint.Unregister(key);
        }

        _cids.Clear();
        foreach (var stream in _streams.Values)
        {
            stream.OnConnectionClosed(error);
        }

        _streams.Clear();
        foreach (var request in _pendingBidi)
        {
            request.Completion.TrySetException(error);
        }

        foreach (var request in _pendingUni)
        {
            request.Completion.TrySetException(error);
        }

        while (_commands.TryDequeue(out var command))
        {
            if (command.State is OpenRequest open)
            {
                open.Completion.TrySetException(error);
            }
            else if (command.State is TaskCompletionSource waiter)
            {
                waiter.TrySetResult();
            }
            else if (command.Stream is not null)
            {
                command.Stream.OnConnectionClosed(error);
            }
        }

        if (_closeWaiters is not null)
        {
            foreach (var waiter in _closeWaiters)
            {
                waiter.TrySetResult();
            }
        }

        if (_handshake.TrySetException(error))
        {
            _ = _handshake.Task.Exception;
        }

        _acceptedStreams.Writer.TryComplete();
        _datagramsIn.Writer.TryComplete();
        while (_datagramsIn.Reader.TryRead(out var inDatagram))
        {
            ArrayPool<byte>.Shared.Return(inDatagram.Buffer);
        }

        while (_datagramsOut.TryDequeue(out var outDatagram))
        {
            ArrayPool<byte>.Shared.Return(outDatagram.Buffer);
        }

        while (_inbound.TryDequeue(out var inbound))
        {
            _endpoint.ReturnBuffer(inbound.Buffer);
        }

        if (_handshakeDone || !_isServer)
        {
            Ngtcp2Log.ConnectionClosed(_logger, RemoteEndPoint, error.Error, error.Message);
        }

        FreeNative();
        _closed.TrySetResult(error);
    }

    private void FreeNative()
    {
        if (_conn != 0)
        {
            ngtcp2_conn_del(_conn);
            _conn = 0;
        }

        if (_session != 0)
        {
            gnutls_deinit(_session);
            _session = 0;
        }

        if (_credentials != 0)
        {
            gnutls_certificate_free_credentials(_credentials);
            _credentials = 0;
        }

        if (_self.IsAllocated)
        {
            NativeMemory.Free(_native);
            _self.Free();
        }

        _endpoint.Release();
    }
}
