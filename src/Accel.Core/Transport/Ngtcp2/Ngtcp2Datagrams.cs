using System.Buffers;
using System.Collections.Concurrent;
using System.Threading.Channels;

namespace Accel.Core.Transport.Ngtcp2;

/// <summary>A received UDP payload or a queued DATAGRAM payload in a pooled buffer; the queue that holds it owns it.</summary>
/// <summary>A datagram in a pooled buffer; a listener's also carries its source address after the payload area (<see cref="UdpEndpoint.AddressOffset"/>).</summary>
internal readonly record struct Ngtcp2Packet(byte[] Buffer, int Length, int AddressLength = 0);

/// <summary>
/// RFC 9221 datagrams of one connection: a bounded outgoing queue the loop drains when it packs packets, and a
/// bounded incoming channel the receive callback fills (a full queue drops the newest: datagrams are unreliable).
/// </summary>
internal sealed class Ngtcp2Datagrams
{
    private const int MaxQueue = 256;
    private const int Overhead = 48;

    private readonly ConcurrentQueue<Ngtcp2Packet> _out = new();
    private readonly Channel<Ngtcp2Packet> _in = Channel.CreateBounded<Ngtcp2Packet>(new BoundedChannelOptions(MaxQueue)
    {
        FullMode = BoundedChannelFullMode.Wait,
        SingleReader = false,
        SingleWriter = true,
    });

    private int _outCount;
    private volatile int _maxPayload;

    /// <summary>Largest payload that fits; 0 until the handshake, or when either side disabled datagrams.</summary>
    public int MaxPayloadSize => _maxPayload;

    public bool HasOutgoing => !_out.IsEmpty;

    /// <summary>Handshake done (loop thread): the peer's max_datagram_frame_size fixes the payload limit.</summary>
    public void OnHandshake(long peerMaxFrameSize, int localMaxFrameSize) =>
        _maxPayload = localMaxFrameSize <= 0 || peerMaxFrameSize <= 3
            ? 0
            : (int)Math.Min(peerMaxFrameSize - 3, 1200 - Overhead);

    /// <summary>Copies <paramref name="payload"/> into a pooled buffer and queues it; false when too large or the queue is full.</summary>
    public bool TryEnqueue(ReadOnlySpan<byte> payload)
    {
        if (payload.Length > _maxPayload)
        {
            return false;
        }

        if (Interlocked.Increment(ref _outCount) > MaxQueue)
        {
            Interlocked.Decrement(ref _outCount);
            return false;
        }

        var buffer = ArrayPool<byte>.Shared.Rent(payload.Length);
        payload.CopyTo(buffer);
        _out.Enqueue(new Ngtcp2Packet(buffer, payload.Length));
        return true;
    }

    /// <summary>The next outgoing datagram (loop thread); it stays queued until <see cref="DropOutgoing"/>.</summary>
    public bool TryPeekOutgoing(out Ngtcp2Packet datagram) => _out.TryPeek(out datagram);

    /// <summary>Removes the datagram <see cref="TryPeekOutgoing"/> returned (sent, or refused for good).</summary>
    public void DropOutgoing()
    {
        if (_out.TryDequeue(out var datagram))
        {
            Interlocked.Decrement(ref _outCount);
            ArrayPool<byte>.Shared.Return(datagram.Buffer);
        }
    }

    /// <summary>recv_datagram callback (loop thread).</summary>
    public void OnReceived(ReadOnlySpan<byte> payload)
    {
        var buffer = ArrayPool<byte>.Shared.Rent(Math.Max(1, payload.Length));
        payload.CopyTo(buffer);
        if (!_in.Writer.TryWrite(new Ngtcp2Packet(buffer, payload.Length)))
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    /// <summary>Receives the next datagram that fits <paramref name="buffer"/> (larger ones are dropped).</summary>
    public async ValueTask<int> ReceiveAsync(Memory<byte> buffer, Func<TransportException> closeError, CancellationToken cancellationToken)
    {
        while (true)
        {
            Ngtcp2Packet datagram;
            try
            {
                datagram = await _in.Reader.ReadAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (ChannelClosedException)
            {
                throw closeError();
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

    /// <summary>Connection closed: readers fail, queued buffers go back to the pool.</summary>
    public void Close()
    {
        _in.Writer.TryComplete();
        while (_in.Reader.TryRead(out var incoming))
        {
            ArrayPool<byte>.Shared.Return(incoming.Buffer);
        }

        while (_out.TryDequeue(out var outgoing))
        {
            ArrayPool<byte>.Shared.Return(outgoing.Buffer);
        }
    }
}
