using System.Buffers;

namespace Accel.Core.Transport.Ngtcp2;

/// <summary>
/// In-order received bytes waiting for the application, in pooled segments. Its size is bounded by the stream's
/// flow-control window, because credit is returned only when the application has read the bytes.
/// </summary>
internal sealed class StreamReceiveBuffer : IDisposable
{
    private const int SegmentSize = 16 * 1024;

    /// <summary>Segments kept for reuse by this stream: rent (loop) and return (reader) meet here, not in ArrayPool's thread caches.</summary>
    private const int MaxSpare = 4;

    private readonly Queue<byte[]> _segments = new();
    private readonly Stack<byte[]> _spare = new(MaxSpare);
    private int _readOffset;
    private int _writeOffset = SegmentSize;
    private byte[]? _tail;

    public long Length { get; private set; }

    public void Append(ReadOnlySpan<byte> data)
    {
        while (!data.IsEmpty)
        {
            if (_tail is null || _writeOffset == SegmentSize)
            {
                _tail = _spare.Count > 0 ? _spare.Pop() : ArrayPool<byte>.Shared.Rent(SegmentSize);
                _segments.Enqueue(_tail);
                _writeOffset = 0;
            }

            var n = Math.Min(SegmentSize - _writeOffset, data.Length);
            data[..n].CopyTo(_tail.AsSpan(_writeOffset, n));
            _writeOffset += n;
            data = data[n..];
            Length += n;
        }
    }

    public int Read(Span<byte> destination)
    {
        var copied = 0;
        while (copied < destination.Length && Length > 0)
        {
            var head = _segments.Peek();
            var end = ReferenceEquals(head, _tail) ? _writeOffset : SegmentSize;
            var n = Math.Min(end - _readOffset, destination.Length - copied);
            head.AsSpan(_readOffset, n).CopyTo(destination[copied..]);
            copied += n;
            _readOffset += n;
            Length -= n;
            if (_readOffset == end)
            {
                _segments.Dequeue();
                _readOffset = 0;
                if (ReferenceEquals(head, _tail))
                {
                    _tail = null;
                    _writeOffset = SegmentSize;
                }

                if (_spare.Count < MaxSpare)
                {
                    _spare.Push(head);
                }
                else
                {
                    ArrayPool<byte>.Shared.Return(head);
                }
            }
        }

        return copied;
    }

    public void Dispose()
    {
        while (_segments.Count > 0)
        {
            ArrayPool<byte>.Shared.Return(_segments.Dequeue());
        }

        while (_spare.Count > 0)
        {
            ArrayPool<byte>.Shared.Return(_spare.Pop());
        }

        _tail = null;
        _writeOffset = SegmentSize;
        _readOffset = 0;
        Length = 0;
    }
}
