using System.Runtime.InteropServices;
using Accel.Core.Transport.Ngtcp2.Native;

namespace Accel.Core.Transport.Ngtcp2;

/// <summary>
/// A stream's send data in a chain of native blocks. ngtcp2 keeps pointers into data it has sent until the peer
/// acknowledges it, so bytes stay where they are from <see cref="Append"/> until <see cref="Acknowledge"/> moves past
/// them. The application appends (under the owner's lock); the connection loop reads and acknowledges.
/// </summary>
internal sealed unsafe class StreamSendBuffer : IDisposable
{
    public const int BlockSize = 64 * 1024;

    /// <summary>Free blocks kept for reuse process-wide (16 MB); malloc/free of 64 KB blocks costs page faults.</summary>
    private const int MaxPooledBlocks = 256;

    private static readonly System.Collections.Concurrent.ConcurrentQueue<nint> s_freeBlocks = new();
    private static int s_freeCount;

    private nint[] _blocks = new nint[4];
    private int _head;
    private int _count;
    private long _baseOffset;

    /// <summary>Stream offset just past the last appended byte.</summary>
    public long Appended { get; private set; }

    /// <summary>Everything below this offset is acknowledged and released.</summary>
    public long Acknowledged { get; private set; }

    public long Buffered => Appended - Acknowledged;

    /// <summary>Copies as much of <paramref name="data"/> as fits under <paramref name="limit"/> buffered bytes.</summary>
    public int Append(ReadOnlySpan<byte> data, long limit)
    {
        var room = (int)Math.Clamp(limit - Buffered, 0, int.MaxValue);
        var total = Math.Min(room, data.Length);
        var copied = 0;
        while (copied < total)
        {
            var inBlock = (int)((Appended - _baseOffset) % BlockSize);
            var blockIndex = (int)((Appended - _baseOffset) / BlockSize);
            if (blockIndex == _count)
            {
                AddBlock();
            }

            var block = (byte*)_blocks[(_head + blockIndex) % _blocks.Length];
            var n = Math.Min(BlockSize - inBlock, total - copied);
            data.Slice(copied, n).CopyTo(new Span<byte>(block + inBlock, n));
            copied += n;
            Appended += n;
        }

        return copied;
    }

    /// <summary>Fills up to <paramref name="maxVecs"/> vectors with data from <paramref name="from"/>, at most <paramref name="maxBytes"/>.</summary>
    public int GetVecs(long from, int maxBytes, ngtcp2_vec* vecs, int maxVecs, out int bytes)
    {
        var count = 0;
        bytes = 0;
        var offset = from;
        while (count < maxVecs && offset < Appended && bytes < maxBytes)
        {
            var rel = offset - _baseOffset;
            var blockIndex = (int)(rel / BlockSize);
            var inBlock = (int)(rel % BlockSize);
            var block = (byte*)_blocks[(_head + blockIndex) % _blocks.Length];
            var n = (int)Math.Min(Math.Min(BlockSize - inBlock, Appended - offset), maxBytes - bytes);
            vecs[count].@base = block + inBlock;
            vecs[count].len = (nuint)n;
            count++;
            bytes += n;
            offset += n;
        }

        return count;
    }

    /// <summary>Releases acknowledged data; ngtcp2 reports acknowledgements contiguously from the start.</summary>
    public void Acknowledge(long upTo)
    {
        if (upTo <= Acknowledged)
        {
            return;
        }

        Acknowledged = Math.Min(upTo, Appended);
        while (_count > 0 && Acknowledged - _baseOffset >= BlockSize)
        {
            ReleaseBlock(_blocks[_head]);
            _blocks[_head] = 0;
            _head = (_head + 1) % _blocks.Length;
            _count--;
            _baseOffset += BlockSize;
        }
    }

    public void Dispose()
    {
        for (var i = 0; i < _count; i++)
        {
            ReleaseBlock(_blocks[(_head + i) % _blocks.Length]);
        }

        _count = 0;
        _head = 0;
    }

    private void AddBlock()
    {
        if (_count == _blocks.Length)
        {
            var bigger = new nint[_blocks.Length * 2];
            for (var i = 0; i < _count; i++)
            {
                bigger[i] = _blocks[(_head + i) % _blocks.Length];
            }

            _blocks = bigger;
            _head = 0;
        }

        _blocks[(_head + _count) % _blocks.Length] = RentBlock();
        _count++;
    }

    private static nint RentBlock()
    {
        if (s_freeBlocks.TryDequeue(out var block))
        {
            Interlocked.Decrement(ref s_freeCount);
            return block;
        }

        return (nint)NativeMemory.Alloc(BlockSize);
    }

    private static void ReleaseBlock(nint block)
    {
        if (Interlocked.Increment(ref s_freeCount) <= MaxPooledBlocks)
        {
            s_freeBlocks.Enqueue(block);
        }
        else
        {
            Interlocked.Decrement(ref s_freeCount);
            NativeMemory.Free((void*)block);
        }
    }
}
