using System.Buffers;
using Accel.Core.Transport;

namespace Accel.Core.Relay.Resume;

/// <summary>
/// The bytes a resumable stream wrote that the peer has not confirmed yet, kept in pooled 64 KiB chunks: appended at
/// the end, trimmed at the start once acknowledged, read back from any retained offset to replay them on a new stream.
/// Offsets are positions in the channel's byte stream (0 = its first byte). One owner; the caller serialises access.
/// </summary>
internal sealed class RetainedBytes : IDisposable
{
    /// <summary>
    /// Kept beyond the engine's count where that count follows write completions, not the peer's acknowledgements (no
    /// <see cref="TransportCapabilities.AcknowledgedBytes"/>: msquic). There a completed write may still sit in
    /// libmsquic's send buffer (128 KiB at first, growing with the congestion window), and the peer's System.Net.Quic
    /// drops what its reader had not taken when the connection fails (at most the stream receive window, 4 MiB by
    /// default), so the peer can resume below what the engine called done: the window plus 1 MiB of send buffer. A peer
    /// resuming further back still fails the channel with the reason, never silently.
    /// </summary>
    public const long UnconfirmedReserve = (4 + 1) * 1024 * 1024;

    private const int ChunkSize = 64 * 1024;

    private readonly Queue<byte[]> _chunks = new();
    private byte[]? _tail;
    private int _tailUsed;
    private long _chunksStart;

    /// <summary>What a stream on <paramref name="connection"/> keeps beyond its engine's unacknowledged count.</summary>
    public static long ReserveFor(ITransportConnection? connection)
        => connection is not null && (connection.Capabilities & TransportCapabilities.AcknowledgedBytes) == 0 ? UnconfirmedReserve : 0;

    /// <summary>Offset of the first retained byte.</summary>
    public long Start { get; private set; }

    /// <summary>Offset after the last retained byte (everything ever appended).</summary>
    public long End { get; private set; }

    public long Length => End - Start;

    public void Append(ReadOnlySpan<byte> data)
    {
        while (!data.IsEmpty)
        {
            if (_tail is null || _tailUsed == ChunkSize)
            {
                _tail = ArrayPool<byte>.Shared.Rent(ChunkSize);
                _tailUsed = 0;
                _chunks.Enqueue(_tail);
            }

            var n = Math.Min(ChunkSize - _tailUsed, data.Length);
            data[..n].CopyTo(_tail.AsSpan(_tailUsed));
            _tailUsed += n;
            End += n;
            data = data[n..];
        }
    }

    /// <summary>Forgets everything before <paramref name="offset"/> (clamped to what is retained); whole chunks go back to the pool.</summary>
    public void TrimTo(long offset)
    {
        Start = Math.Clamp(offset, Start, End);
        while (_chunks.Count > 0 && Start - _chunksStart >= ChunkSize)
        {
            var chunk = _chunks.Dequeue();
            if (ReferenceEquals(chunk, _tail))
            {
                _tail = null;
            }

            ArrayPool<byte>.Shared.Return(chunk);
            _chunksStart += ChunkSize;
        }
    }

    /// <summary>The retained bytes from <paramref name="offset"/> to <see cref="End"/>, chunk by chunk.</summary>
    public IEnumerable<ReadOnlyMemory<byte>> From(long offset)
    {
        if (offset < Start || offset > End)
        {
            throw new ArgumentOutOfRangeException(nameof(offset), offset, $"only {Start}..{End} is retained");
        }

        var chunkStart = _chunksStart;
        foreach (var chunk in _chunks)
        {
            var chunkEnd = Math.Min(chunkStart + ChunkSize, End);
            if (chunkEnd > offset)
            {
                var from = (int)(Math.Max(offset, chunkStart) - chunkStart);
                yield return chunk.AsMemory(from, (int)(chunkEnd - chunkStart) - from);
            }

            chunkStart += ChunkSize;
        }
    }

    public void Dispose()
    {
        while (_chunks.Count > 0)
        {
            ArrayPool<byte>.Shared.Return(_chunks.Dequeue());
        }

        _tail = null;
        Start = End;
        _chunksStart = End;
    }
}
