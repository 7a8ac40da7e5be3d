using Accel.Core.Transport.Scheduling;
using static Accel.Core.Transport.Ngtcp2.Native.Ngtcp2Native;

namespace Accel.Core.Transport.Ngtcp2;

/// <summary>An application's request to open a stream, completed by the loop once a stream ID is free.</summary>
internal sealed class Ngtcp2OpenRequest(StreamDirection direction, byte urgency)
{
    public StreamDirection Direction { get; } = direction;

    public byte Urgency { get; } = urgency;

    public TaskCompletionSource<ITransportStream> Completion { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
}

/// <summary>
/// The streams of one connection and everything that waits on them, owned by the connection's loop thread: the
/// scheduler that picks which stream fills the next packet, streams blocked on flow control, streams the peer stopped
/// (their writers learn it after a grace), opens waiting for a stream ID, and the credit and stream-limit updates the
/// callbacks collect (ngtcp2 API calls are not allowed inside callbacks, so <see cref="AfterEvents"/> applies them).
/// </summary>
internal sealed unsafe class Ngtcp2StreamTable(Ngtcp2Connection owner, bool isServer)
{
    private readonly Dictionary<long, Ngtcp2Stream> _streams = [];
    private readonly List<Ngtcp2Stream> _blocked = [];
    private readonly List<Ngtcp2Stream> _writeShut = [];
    private readonly Queue<Ngtcp2OpenRequest> _pendingBidi = new();
    private readonly Queue<Ngtcp2OpenRequest> _pendingUni = new();
    private bool _retryOpens;
    private long _remoteBidiClosed;
    private long _remoteUniClosed;
    private long _orphanCredit;
    private long _localBidiOpened;
    private long _localUniOpened;

    public PriorityScheduler<Ngtcp2Stream> Scheduler { get; } = new();

    /// <summary>Earliest grace deadline of a stopped stream (ngtcp2 clock), or <see cref="ulong.MaxValue"/>.</summary>
    public ulong NextShutDeadline { get; private set; } = ulong.MaxValue;

    // ---- Callbacks (inside ngtcp2 calls: no ngtcp2 API here) -----------------------------------------------

    /// <summary>stream_open: the peer opened a stream; it starts at the accepted-stream default.</summary>
    public Ngtcp2Stream OnOpenedByPeer(long streamId)
    {
        var stream = new Ngtcp2Stream(owner, streamId, isServer, TransportDefaults.AcceptedStreamUrgency);
        _streams[streamId] = stream;
        return stream;
    }

    public void OnReceived(long streamId, ReadOnlySpan<byte> data, bool fin)
    {
        if (_streams.TryGetValue(streamId, out var stream))
        {
            var discarded = stream.OnReceived(data, fin);
            if (discarded > 0)
            {
                stream.AddCredit(discarded);
                owner.SignalCredit(stream);
            }
        }
        else if (data.Length > 0)
        {
            _orphanCredit += data.Length;
        }
    }

    public void OnAcked(long streamId, long offset, long length)
    {
        if (_streams.TryGetValue(streamId, out var stream))
        {
            stream.OnAcked(offset, length);
        }
    }

    public void OnReset(long streamId, long code)
    {
        if (_streams.TryGetValue(streamId, out var stream))
        {
            stream.OnReset(code);
        }
    }

    /// <summary>Packets with STREAM frames of the open streams that ngtcp2 declared lost (spurious losses included).</summary>
    public long StreamLossCount(nint conn)
    {
        long lost = 0;
        foreach (var id in _streams.Keys)
        {
            lost += (long)ngtcp2_conn_get_stream_loss_count(conn, id);
        }

        return lost;
    }

    public void OnClosed(long streamId, long? code)
    {
        if (!_streams.Remove(streamId, out var stream))
        {
            return;
        }

        Unschedule(stream);
        stream.OnNativeClosed(code);
        var remote = ((streamId & 1) != 0) != isServer;
        if (remote)
        {
            if ((streamId & 2) != 0)
            {
                _remoteUniClosed++;
            }
            else
            {
                _remoteBidiClosed++;
            }
        }
    }

    public void OnMaxStreamDataExtended(long streamId)
    {
        if (_streams.TryGetValue(streamId, out var stream) && stream.Blocked)
        {
            stream.Blocked = false;
            _blocked.Remove(stream);
            ScheduleIfReady(stream);
        }
    }

    public void OnMaxLocalStreamsExtended() => _retryOpens = true;

    // ---- Loop ----------------------------------------------------------------------------------------------

    /// <summary>Opens the stream now if a stream ID is free after the handshake, else queues the request in order.</summary>
    public void Open(nint conn, Ngtcp2OpenRequest request, bool handshakeDone)
    {
        var queue = request.Direction == StreamDirection.Bidirectional ? _pendingBidi : _pendingUni;
        if (queue.Count > 0 || !TryOpen(conn, request, handshakeDone))
        {
            queue.Enqueue(request);
        }
    }

    public void ScheduleIfReady(Ngtcp2Stream stream)
    {
        if (!stream.Queued && !stream.Blocked && !stream.NativeClosed && stream.ShutDeadline == 0 && stream.HasPendingSend())
        {
            stream.Queued = true;
            Scheduler.Enqueue(stream, stream.Urgency);
        }
    }

    public void Unschedule(Ngtcp2Stream stream)
    {
        if (stream.Queued)
        {
            Scheduler.Remove(stream);
            stream.Queued = false;
        }

        if (stream.Blocked)
        {
            stream.Blocked = false;
            _blocked.Remove(stream);
        }
    }

    /// <summary>The stream has data but no flow-control credit: it waits until the peer extends its window.</summary>
    public void OnBlocked(Ngtcp2Stream stream)
    {
        stream.Blocked = true;
        _blocked.Add(stream);
    }

    /// <summary>The write side was found shut (the peer's STOP_SENDING): the writer fails with the code, or after <paramref name="grace"/>.</summary>
    public void MarkWriteShut(Ngtcp2Stream stream, ulong now, ulong grace)
    {
        if (stream.ShutDeadline != 0 || stream.NativeClosed)
        {
            return;
        }

        stream.ShutDeadline = now + grace;
        _writeShut.Add(stream);
    }

    /// <summary>Work deferred out of callbacks and packet writing.</summary>
    public void AfterEvents(nint conn, bool handshakeDone)
    {
        if (_writeShut.Count > 0)
        {
            ExpireWriteShut(Ngtcp2Clock.Now());
        }

        if (_orphanCredit > 0)
        {
            ngtcp2_conn_extend_max_offset(conn, (ulong)_orphanCredit);
            _orphanCredit = 0;
        }

        if (_remoteBidiClosed > 0)
        {
            ngtcp2_conn_extend_max_streams_bidi(conn, (nuint)_remoteBidiClosed);
            _remoteBidiClosed = 0;
        }

        if (_remoteUniClosed > 0)
        {
            ngtcp2_conn_extend_max_streams_uni(conn, (nuint)_remoteUniClosed);
            _remoteUniClosed = 0;
        }

        if (_retryOpens || (handshakeDone && (_pendingBidi.Count > 0 || _pendingUni.Count > 0)))
        {
            _retryOpens = false;
            RetryOpens(conn, _pendingBidi, handshakeDone);
            RetryOpens(conn, _pendingUni, handshakeDone);
        }

        if (_blocked.Count > 0 && ngtcp2_conn_get_max_data_left(conn) > 0)
        {
            for (var i = _blocked.Count - 1; i >= 0; i--)
            {
                var stream = _blocked[i];
                if (stream.NativeClosed || ngtcp2_conn_get_max_stream_data_left(conn, stream.Id) > 0)
                {
                    stream.Blocked = false;
                    _blocked.RemoveAt(i);
                    ScheduleIfReady(stream);
                }
            }
        }
    }

    /// <summary>True when every writable open stream has had all its data acknowledged.</summary>
    public bool IsSendDrained()
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

    /// <summary>
    /// Whether the peer has granted back (MAX_STREAMS) every stream this end opened that ngtcp2 has closed. A libmsquic
    /// peer grants a stream back only once its application read it to the end, and discards what it has not read when
    /// the connection closes: a graceful close waits for this (see <see cref="ITransportConnection.CloseAsync"/>).
    /// </summary>
    public bool PeerReleasedClosedLocal(nint conn)
    {
        var remote = ngtcp2_conn_get_remote_transport_params(conn);
        if (remote == null)
        {
            return true;
        }

        long liveBidi = 0, liveUni = 0;
        foreach (var id in _streams.Keys)
        {
            if (((id & 1) != 0) != isServer)
            {
                continue; // The peer's stream.
            }

            if ((id & 2) != 0)
            {
                liveUni++;
            }
            else
            {
                liveBidi++;
            }
        }

        // Credit granted beyond the initial limit is the number of this end's streams the peer has released.
        var releasedBidi = (long)ngtcp2_conn_get_streams_bidi_left(conn) + _localBidiOpened - (long)remote->initial_max_streams_bidi;
        var releasedUni = (long)ngtcp2_conn_get_streams_uni_left(conn) + _localUniOpened - (long)remote->initial_max_streams_uni;
        return releasedBidi >= _localBidiOpened - liveBidi && releasedUni >= _localUniOpened - liveUni;
    }

    /// <summary>How long a graceful close waits for <see cref="PeerReleasedClosedLocal"/>: at most the peer's idle timeout.</summary>
    public static ulong ReleaseDeadline(nint conn)
    {
        var remote = conn == 0 ? null : ngtcp2_conn_get_remote_transport_params(conn);
        return remote == null ? 0 : Ngtcp2Clock.Now() + remote->max_idle_timeout;
    }

    /// <summary>Connection closed: every stream and every waiting open fails with <paramref name="error"/>.</summary>
    public void Fail(TransportException error)
    {
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

        _pendingBidi.Clear();
        _pendingUni.Clear();
    }

    private bool TryOpen(nint conn, Ngtcp2OpenRequest request, bool handshakeDone)
    {
        if (request.Completion.Task.IsCompleted)
        {
            return true;
        }

        if (!handshakeDone)
        {
            return false;
        }

        long id;
        var rv = request.Direction == StreamDirection.Bidirectional
            ? ngtcp2_conn_open_bidi_stream(conn, &id, null)
            : ngtcp2_conn_open_uni_stream(conn, &id, null);
        if (rv == NGTCP2_ERR_STREAM_ID_BLOCKED)
        {
            return false;
        }

        if (rv != 0)
        {
            request.Completion.TrySetException(new TransportException(TransportError.InternalError, "ngtcp2 could not open a stream: " + ErrorText(rv)));
            return true;
        }

        var stream = new Ngtcp2Stream(owner, id, isServer, request.Urgency);
        _streams[id] = stream;
        if (request.Direction == StreamDirection.Bidirectional)
        {
            _localBidiOpened++;
        }
        else
        {
            _localUniOpened++;
        }

        if (!request.Completion.TrySetResult(stream))
        {
            ngtcp2_conn_shutdown_stream_write(conn, 0, id, 0);
            ngtcp2_conn_shutdown_stream_read(conn, 0, id, 0);
        }

        return true;
    }

    private void RetryOpens(nint conn, Queue<Ngtcp2OpenRequest> pending, bool handshakeDone)
    {
        while (pending.Count > 0 && TryOpen(conn, pending.Peek(), handshakeDone))
        {
            pending.Dequeue();
        }
    }

    /// <summary>Writers of streams the peer stopped learn it with the code (stream closed) or, failing that, after the grace.</summary>
    private void ExpireWriteShut(ulong now)
    {
        NextShutDeadline = ulong.MaxValue;
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
                NextShutDeadline = Math.Min(NextShutDeadline, stream.ShutDeadline);
            }
        }
    }
}
