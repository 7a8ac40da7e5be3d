using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Accel.Core.Transport.Ngtcp2.Native;
using Microsoft.Extensions.Logging;
using static Accel.Core.Transport.Ngtcp2.Native.Ngtcp2Native;

namespace Accel.Core.Transport.Ngtcp2;

/// <summary>
/// One UDP socket and its receive thread. A client endpoint carries one connection; a listener endpoint routes each
/// datagram by destination connection ID to its connection and hands unknown Initial packets to the listener.
/// The socket lives until the listener and every connection on it have released it.
/// </summary>
internal sealed unsafe class UdpEndpoint
{
    /// <summary>Length of the connection IDs this endpoint issues; short-header packets are routed by it.</summary>
    public const int LocalCidLength = 16;

    /// <summary>Receive buffers are this large; bigger datagrams are not QUIC packets we sent for.</summary>
    public const int ReceiveBufferSize = 2048;

    /// <summary>Where a listener's receive buffer holds the datagram's source address (after the payload area, 64 bytes).</summary>
    public const int AddressOffset = ReceiveBufferSize;

    private const int AddressSlot = 64;

    private const int SolSocket = 1;
    private const int SoRcvBufForce = 33;
    private const int SoSndBufForce = 32;
    private const int SolUdp = 17;
    private const int UdpSegment = 103;

    /// <summary>Free receive buffers, at most this many kept (2 KB each).</summary>
    private const int MaxPooledBuffers = 16 * 1024;

    private readonly ConcurrentDictionary<CidKey, Ngtcp2Connection> _routes = new();
    private readonly ConcurrentQueue<byte[]> _freeBuffers = new();
    private int _freeCount;
    private readonly ILogger _logger;
    private readonly Thread _thread;
    private Ngtcp2Connection? _single;
    private Ngtcp2Listener? _listener;
    private int _refs = 1;

    public UdpEndpoint(Socket socket, ILogger logger)
    {
        Socket = socket;
        _logger = logger;
        TuneBuffers(socket);
        LocalEndPoint = (IPEndPoint)socket.LocalEndPoint!;
        GsoSegmentSize = TryEnableGso(socket, Ngtcp2PacketWriter.MaxUdpPayloadSize) ? Ngtcp2PacketWriter.MaxUdpPayloadSize : 0;
        _thread = new Thread(ReceiveLoop) { IsBackground = true, Name = "ngtcp2-rx " + LocalEndPoint };
    }

    public Socket Socket { get; }

    public IPEndPoint LocalEndPoint { get; }

    /// <summary>UDP_SEGMENT size set on the socket (0 = no GSO): one send may carry several packets of exactly this size.</summary>
    public int GsoSegmentSize { get; }

    public void Start(Ngtcp2Listener? listener, Ngtcp2Connection? single)
    {
        _listener = listener;
        _single = single;
        _thread.Start();
    }

    public void AddRef() => Interlocked.Increment(ref _refs);

    public void Release()
    {
        if (Interlocked.Decrement(ref _refs) == 0)
        {
            Socket.Dispose();
        }
    }

    /// <summary>
    /// A receive buffer. Buffers are rented here on the receive thread and returned by connection loops; a private
    /// pool keeps that cross-thread flow allocation-free (ArrayPool's per-thread caches would miss every time).
    /// </summary>
    public byte[] RentBuffer()
    {
        if (_freeBuffers.TryDequeue(out var buffer))
        {
            Interlocked.Decrement(ref _freeCount);
            return buffer;
        }

        return GC.AllocateUninitializedArray<byte>(ReceiveBufferSize + AddressSlot, pinned: true);
    }

    public void ReturnBuffer(byte[] buffer)
    {
        if (Interlocked.Increment(ref _freeCount) <= MaxPooledBuffers)
        {
            _freeBuffers.Enqueue(buffer);
        }
        else
        {
            Interlocked.Decrement(ref _freeCount);
        }
    }

    public void Register(CidKey key, Ngtcp2Connection connection) => _routes[key] = connection;

    public void Unregister(CidKey key) => _routes.TryRemove(key, out _);

    public void Send(ReadOnlySpan<byte> packet, SocketAddress? remote)
    {
        try
        {
            if (remote is null)
            {
                Socket.Send(packet, SocketFlags.None);
            }
            else
            {
                Socket.SendTo(packet, SocketFlags.None, remote);
            }
        }
        catch (SocketException)
        {
            // UDP: a send error (e.g. ICMP port unreachable reported on a connected socket) is a lost packet.
        }
        catch (ObjectDisposedException)
        {
        }
    }

    private const int ReceiveBatch = 32;

    private void ReceiveLoop()
    {
        if (OperatingSystem.IsLinux() && Environment.GetEnvironmentVariable("ACCEL_NGTCP2_NO_RECVMMSG") != "1")
        {
            ReceiveLoopBatched();
            return;
        }

        ReceiveLoopSimple();
    }

    /// <summary>
    /// recvmmsg(2) on the socket's descriptor: up to <see cref="ReceiveBatch"/> datagrams per call. The socket has a
    /// receive timeout so the call returns periodically; the handle is ref-counted around each call so the descriptor
    /// cannot be closed (and reused) underneath it.
    /// </summary>
    private void ReceiveLoopBatched()
    {
        const int nameSize = 128;
        Socket.ReceiveTimeout = 250;
        var handle = Socket.SafeHandle;
        var buffers = new byte[ReceiveBatch][];
        var names = GC.AllocateArray<byte>(nameSize * ReceiveBatch, pinned: true);
        var headers = GC.AllocateArray<mmsghdr>(ReceiveBatch, pinned: true);
        var vectors = GC.AllocateArray<iovec>(ReceiveBatch, pinned: true);
        var from = new SocketAddress(Socket.AddressFamily);
        for (var i = 0; i < ReceiveBatch; i++)
        {
            buffers[i] = RentBuffer();
        }

        try
        {
            fixed (byte* namesPtr = names)
            fixed (mmsghdr* hdrs = headers)
            fixed (iovec* iovs = vectors)
            {
                while (true)
                {
                    for (var i = 0; i < ReceiveBatch; i++)
                    {
                        iovs[i].iov_base = Unsafe.AsPointer(ref MemoryMarshal.GetArrayDataReference(buffers[i]));
                        iovs[i].iov_len = ReceiveBufferSize;
                        hdrs[i].msg_hdr = new msghdr { msg_name = namesPtr + (i * nameSize), msg_namelen = nameSize, msg_iov = iovs + i, msg_iovlen = 1 };
                        hdrs[i].msg_len = 0;
                    }

                    var added = false;
                    int n;
                    int errno;
                    try
                    {
                        handle.DangerousAddRef(ref added);
                        n = LibcNative.recvmmsg((int)handle.DangerousGetHandle(), hdrs, ReceiveBatch, LibcNative.MSG_WAITFORONE, null);
                        errno = n < 0 ? Marshal.GetLastPInvokeError() : 0;
                    }
                    catch (ObjectDisposedException)
                    {
                        return;
                    }
                    finally
                    {
                        if (added)
                        {
                            handle.DangerousRelease();
                        }
                    }

                    if (n < 0)
                    {
                        if (Volatile.Read(ref _refs) <= 0 || handle.IsClosed)
                        {
                            return;
                        }

                        // EAGAIN (timeout), EINTR, ECONNREFUSED (ICMP on a connected socket): try again.
                        continue;
                    }

                    for (var i = 0; i < n; i++)
                    {
                        var buffer = buffers[i];
                        var length = (int)hdrs[i].msg_len;
                        buffers[i] = RentBuffer();
                        if ((hdrs[i].msg_hdr.msg_flags & 0x20) != 0 || length == 0)
                        {
                            // MSG_TRUNC: larger than any packet we accept; or empty, which is no QUIC packet.
                            ReturnBuffer(buffer);
                            continue;
                        }

                        if (_single is not null)
                        {
                            _single.EnqueueInbound(buffer, length);
                            continue;
                        }

                        var nameLength = (int)Math.Min(hdrs[i].msg_hdr.msg_namelen, nameSize);
                        from.Size = nameLength;
                        new ReadOnlySpan<byte>(namesPtr + (i * nameSize), nameLength).CopyTo(from.Buffer.Span);
                        Route(buffer, length, from);
                    }
                }
            }
        }
        finally
        {
            foreach (var buffer in buffers)
            {
                ReturnBuffer(buffer);
            }
        }
    }

    private void ReceiveLoopSimple()
    {
        var from = new SocketAddress(Socket.AddressFamily);
        while (true)
        {
            var buffer = RentBuffer();
            int n;
            try
            {
                n = _single is not null
                    ? Socket.Receive(buffer.AsSpan(0, ReceiveBufferSize), SocketFlags.None)
                    : Socket.ReceiveFrom(buffer.AsSpan(0, ReceiveBufferSize), SocketFlags.None, from);
            }
            catch (SocketException e) when (e.SocketErrorCode is SocketError.ConnectionRefused or SocketError.ConnectionReset or SocketError.MessageSize)
            {
                ReturnBuffer(buffer);
                continue;
            }
            catch (Exception e) when (e is SocketException or ObjectDisposedException)
            {
                ReturnBuffer(buffer);
                if (Volatile.Read(ref _refs) > 0 && e is SocketException)
                {
                    Ngtcp2Log.ReceiveFailed(_logger, e, LocalEndPoint);
                }

                return;
            }

            if (_single is not null)
            {
                _single.EnqueueInbound(buffer, n);
                continue;
            }

            Route(buffer, n, from);
        }
    }

    private void Route(byte[] buffer, int length, SocketAddress from)
    {
        if (length <= 0)
        {
            ReturnBuffer(buffer);
            return;
        }

        ngtcp2_version_cid vc;
        int rv;
        fixed (byte* p = buffer)
        {
            rv = ngtcp2_pkt_decode_version_cid(&vc, p, (nuint)length, LocalCidLength);
            if (rv == 0 && _routes.TryGetValue(new CidKey(vc.dcid, (int)vc.dcidlen), out var connection))
            {
                // The source address goes with the datagram: a client edge behind a NAT that rebinds (or that moved)
                // sends from a new address, and ngtcp2 validates the new path and follows it.
                connection.EnqueueInbound(buffer, length, CopyAddress(buffer, from));
                return;
            }

            if (rv == 0 && (p[0] & 0x80) == 0 && _listener is not null && vc.dcidlen == LocalCidLength)
            {
                // A short-header packet for a connection this endpoint does not know (it restarted, or the connection
                // ended): a stateless reset tells the peer at once instead of at its idle timeout.
                _listener.Reset.TrySend(this, new ReadOnlySpan<byte>(vc.dcid, (int)vc.dcidlen), length, from);
            }
            else if (rv == 0 && (p[0] & 0x80) != 0 && _listener is not null)
            {
                ngtcp2_pkt_hd hd;
                if (ngtcp2_accept(&hd, p, (nuint)length) == 0)
                {
                    var created = _listener.OnInitial(&hd, from);
                    if (created is not null)
                    {
                        created.EnqueueInbound(buffer, length, CopyAddress(buffer, from));
                        created.Start();
                        return;
                    }
                }
            }
        }

        ReturnBuffer(buffer);
    }

    private static int CopyAddress(byte[] buffer, SocketAddress from)
    {
        var size = Math.Min(from.Size, AddressSlot);
        from.Buffer.Span[..size].CopyTo(buffer.AsSpan(AddressOffset, size));
        return size;
    }

    private static void TuneBuffers(Socket socket)
    {
        const int size = 8 * 1024 * 1024;
        try
        {
            // Root may exceed net.core.[rw]mem_max; others get what the kernel allows.
            socket.SetRawSocketOption(SolSocket, SoRcvBufForce, BitConverter.GetBytes(size));
            socket.SetRawSocketOption(SolSocket, SoSndBufForce, BitConverter.GetBytes(size));
        }
        catch (SocketException)
        {
            socket.ReceiveBufferSize = size;
            socket.SendBufferSize = size;
        }
    }

    private static bool TryEnableGso(Socket socket, int segmentSize)
    {
        if (Environment.GetEnvironmentVariable("ACCEL_NGTCP2_NO_GSO") == "1")
        {
            return false;
        }

        try
        {
            socket.SetRawSocketOption(SolUdp, UdpSegment, BitConverter.GetBytes(segmentSize));
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }
}
