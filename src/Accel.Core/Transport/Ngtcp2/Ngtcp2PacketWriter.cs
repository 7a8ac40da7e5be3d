using System.Net;
using Accel.Core.Transport.Ngtcp2.Native;
using static Accel.Core.Transport.Ngtcp2.Native.Ngtcp2Native;

namespace Accel.Core.Transport.Ngtcp2;

/// <summary>
/// The send path of one connection (loop thread): packs packets from queued datagrams and from the streams the
/// scheduler grants, batches equal-size packets for GSO, and writes CONNECTION_CLOSE. Owns the pinned send buffer.
/// </summary>
internal sealed unsafe class Ngtcp2PacketWriter(UdpEndpoint endpoint, SocketAddress? remoteAddress)
{
    /// <summary>Where a listener's packets go: the current path's remote address (null: a connected client socket).</summary>
    private SocketAddress? _destination = remoteAddress;

    /// <summary>The socket packets go out on; a client's changes when it migrates to a new local address.</summary>
    public UdpEndpoint Endpoint { get; set; } = endpoint;

    /// <summary>Largest UDP payload we send (ngtcp2's default; PMTUD confirms it before use).</summary>
    public const int MaxUdpPayloadSize = 1452;

    private const int MaxVecs = 4;
    private const int SendBatchBytes = 64 * 1024;

    private readonly byte[] _buffer = GC.AllocateArray<byte>(SendBatchBytes, pinned: true);

    public long BytesSent { get; private set; }

    public long PacketsSent { get; private set; }

    /// <summary>
    /// Packs and sends packets up to the send quantum. Returns true when it stopped because the quantum was used up;
    /// <paramref name="failure"/> is an ngtcp2 error (negative) when writing failed, else 0. Streams the peer stopped
    /// get <paramref name="shutGrace"/> (ngtcp2 clock) before their writers fail.
    /// </summary>
    public bool WritePackets(nint conn, ngtcp2_path* path, Ngtcp2StreamTable streams, Ngtcp2Datagrams datagrams, bool handshakeDone, ulong shutGrace, out int failure)
    {
        failure = 0;
        var ts = Ngtcp2Clock.Now();
        var quantum = (int)ngtcp2_conn_get_send_quantum(conn);
        var maxPackets = Math.Clamp(quantum / MaxUdpPayloadSize, 1, 64);
        var udp = Endpoint;
        var gso = udp.GsoSegmentSize;
        var vecs = stackalloc ngtcp2_vec[MaxVecs];
        ngtcp2_pkt_info pi = default;
        var packets = 0;
        var batchLength = 0;
        var batchCount = 0;

        fixed (byte* buffer = _buffer)
        {
            while (packets < maxPackets)
            {
                var dest = buffer + batchLength;
                var room = (nuint)MaxUdpPayloadSize;
                nint nwrite;
                nint ndatalen = -1;

                if (handshakeDone && datagrams.TryPeekOutgoing(out var dgram))
                {
                    int accepted = 0;
                    fixed (byte* d = dgram.Buffer)
                    {
                        var vec = new ngtcp2_vec { @base = d, len = (nuint)dgram.Length };
                        nwrite = ngtcp2_conn_writev_datagram_versioned(conn, path, NGTCP2_PKT_INFO_V1, &pi, dest, room, &accepted, NGTCP2_WRITE_DATAGRAM_FLAG_MORE, 0, &vec, 1, ts);
                    }

                    var refused = nwrite is NGTCP2_ERR_INVALID_STATE or NGTCP2_ERR_INVALID_ARGUMENT;
                    if (accepted != 0 || refused)
                    {
                        datagrams.DropOutgoing();
                    }

                    if (nwrite == NGTCP2_ERR_WRITE_MORE || refused)
                    {
                        continue;
                    }
                }
                else if (handshakeDone && streams.Scheduler.TryDequeue(out var grant))
                {
                    var stream = grant.Sender;
                    stream.Queued = false;
                    var count = stream.PrepareSend(vecs, MaxVecs, grant.Bytes, out var bytes, out var fin);
                    var flags = NGTCP2_WRITE_STREAM_FLAG_MORE | (fin ? NGTCP2_WRITE_STREAM_FLAG_FIN : 0);
                    nwrite = ngtcp2_conn_writev_stream_versioned(conn, path, NGTCP2_PKT_INFO_V1, &pi, dest, room, &ndatalen, flags, stream.Id, vecs, (nuint)count, ts);
                    if (ndatalen >= 0)
                    {
                        stream.OnSent(ndatalen, fin && ndatalen == bytes);
                    }

                    streams.Scheduler.Complete(grant, (int)Math.Max(0, ndatalen));
                    switch (nwrite)
                    {
                        case NGTCP2_ERR_STREAM_DATA_BLOCKED:
                            streams.OnBlocked(stream);
                            continue;
                        case NGTCP2_ERR_STREAM_SHUT_WR:
                        case NGTCP2_ERR_STREAM_NOT_FOUND:
                            // ngtcp2 1.11 has no callback for a received STOP_SENDING: it answers with RESET_STREAM
                            // itself, and the write side is found shut here. The code arrives with stream_close once
                            // the peer acknowledges that reset, so the writer is failed then (or after a grace period).
                            streams.MarkWriteShut(stream, ts, shutGrace);
                            continue;
                        case NGTCP2_ERR_WRITE_MORE:
                            streams.ScheduleIfReady(stream);
                            continue;
                    }

                    streams.ScheduleIfReady(stream);
                }
                else
                {
                    nwrite = ngtcp2_conn_writev_stream_versioned(conn, path, NGTCP2_PKT_INFO_V1, &pi, dest, room, &ndatalen, 0, -1, null, 0, ts);
                }

                if (nwrite < 0)
                {
                    failure = (int)nwrite;
                    return false;
                }

                if (nwrite == 0)
                {
                    break;
                }

                packets++;
                PacketsSent++;
                BytesSent += nwrite;
                if (_destination is not null && !SameDestination(path))
                {
                    // ngtcp2 moved to (or probes) another path: what is batched goes to the old one, this packet on.
                    if (batchLength > 0)
                    {
                        udp.Send(new ReadOnlySpan<byte>(buffer, batchLength), _destination);
                        dest = MoveToFront(buffer, batchLength, (int)nwrite);
                        batchLength = 0;
                        batchCount = 0;
                    }

                    _destination = ToSocketAddress(path);
                    DestinationChanged = true;
                }

                // GSO: packets of exactly the segment size are batched into one send; a shorter one ends the batch.
                if (gso == 0)
                {
                    udp.Send(new ReadOnlySpan<byte>(dest, (int)nwrite), _destination);
                    continue;
                }

                batchLength += (int)nwrite;
                batchCount++;
                if (nwrite != gso || batchLength + MaxUdpPayloadSize > SendBatchBytes || batchCount >= 64)
                {
                    udp.Send(new ReadOnlySpan<byte>(buffer, batchLength), _destination);
                    batchLength = 0;
                    batchCount = 0;
                }
            }

            if (batchLength > 0)
            {
                udp.Send(new ReadOnlySpan<byte>(buffer, batchLength), _destination);
            }
        }

        ngtcp2_conn_update_pkt_tx_time(conn, ts);
        return packets >= maxPackets;
    }

    /// <summary>Set when the destination changed (a migration or a path probe); the loop clears it after looking.</summary>
    public bool DestinationChanged { get; set; }

    /// <summary>The current destination, for the connection's remote endpoint.</summary>
    public SocketAddress? Destination => _destination;

    private bool SameDestination(ngtcp2_path* path)
    {
        var current = _destination!.Buffer.Span[.._destination.Size];
        return path->remote.addrlen == (uint)current.Length && current.SequenceEqual(new ReadOnlySpan<byte>(path->remote.addr, current.Length));
    }

    private static SocketAddress ToSocketAddress(ngtcp2_path* path)
    {
        var raw = new ReadOnlySpan<byte>(path->remote.addr, (int)path->remote.addrlen);
        var family = (System.Net.Sockets.AddressFamily)System.Buffers.Binary.BinaryPrimitives.ReadUInt16LittleEndian(raw);
        var address = new SocketAddress(family, raw.Length);
        raw.CopyTo(address.Buffer.Span);
        return address;
    }

    private static byte* MoveToFront(byte* buffer, int batchLength, int length)
    {
        Buffer.MemoryCopy(buffer + batchLength, buffer, SendBatchBytes, length);
        return buffer;
    }

    /// <summary>Writes and sends CONNECTION_CLOSE with <paramref name="ccerr"/>, unless the connection is already closing or draining.</summary>
    public void WriteClose(nint conn, ngtcp2_path* path, ngtcp2_ccerr* ccerr)
    {
        if (conn == 0 || ngtcp2_conn_in_closing_period(conn) != 0 || ngtcp2_conn_in_draining_period(conn) != 0)
        {
            return;
        }

        ngtcp2_pkt_info pi = default;
        fixed (byte* buffer = _buffer)
        {
            var n = ngtcp2_conn_write_connection_close_versioned(conn, path, NGTCP2_PKT_INFO_V1, &pi, buffer, MaxUdpPayloadSize, ccerr, Ngtcp2Clock.Now());
            if (n > 0)
            {
                Endpoint.Send(new ReadOnlySpan<byte>(buffer, (int)n), _destination);
            }
        }
    }

    /// <summary>Writes and sends CONNECTION_CLOSE: an application close, or the error ngtcp2 reported.</summary>
    public void WriteClose(nint conn, ngtcp2_path* path, bool application, long codeOrLibError)
    {
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

        WriteClose(conn, path, &ccerr);
    }

    /// <summary>
    /// CONNECTION_CLOSE with CRYPTO_ERROR and the handshake's TLS alert; without one, certificate_required when
    /// <paramref name="certificateMissing"/> (a server that got no client certificate), else bad_certificate.
    /// </summary>
    public void WriteTlsAlertClose(nint conn, ngtcp2_path* path, bool certificateMissing)
    {
        if (conn == 0)
        {
            return;
        }

        const byte badCertificate = 42;
        const byte certificateRequired = 116;
        var alert = ngtcp2_conn_get_tls_alert(conn);
        if (alert == 0)
        {
            alert = certificateMissing ? certificateRequired : badCertificate;
        }

        ngtcp2_ccerr ccerr;
        ngtcp2_ccerr_default(&ccerr);
        ngtcp2_ccerr_set_tls_alert(&ccerr, alert, null, 0);
        WriteClose(conn, path, &ccerr);
    }
}
