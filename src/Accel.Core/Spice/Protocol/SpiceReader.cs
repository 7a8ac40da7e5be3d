using System.Buffers;

namespace Accel.Core.Spice.Protocol;

/// <summary>
/// Little-endian reader over a message body that is already known to be complete.
/// Short data is a protocol violation: every verb throws <see cref="SpiceProtocolException"/> (Truncated).
/// Slices are returned without copying.
/// </summary>
internal ref struct SpiceReader
{
    private SequenceReader<byte> _reader;
    private readonly string _what;

    public SpiceReader(scoped in ReadOnlySequence<byte> sequence, string what)
    {
        _reader = new SequenceReader<byte>(sequence);
        _what = what;
    }

    public readonly long Consumed => _reader.Consumed;

    public readonly long Remaining => _reader.Remaining;

    public byte ReadByte()
    {
        if (!_reader.TryRead(out var value))
        {
            SpiceThrow.Truncated(_what);
        }

        return value;
    }

    public ushort ReadUInt16()
    {
        if (!_reader.TryReadLittleEndian(out short value))
        {
            SpiceThrow.Truncated(_what);
        }

        return (ushort)value;
    }

    public uint ReadUInt32()
    {
        if (!_reader.TryReadLittleEndian(out int value))
        {
            SpiceThrow.Truncated(_what);
        }

        return (uint)value;
    }

    public int ReadInt32() => (int)ReadUInt32();

    public ulong ReadUInt64()
    {
        if (!_reader.TryReadLittleEndian(out long value))
        {
            SpiceThrow.Truncated(_what);
        }

        return (ulong)value;
    }

    /// <summary>Returns the next <paramref name="count"/> bytes as a slice of the underlying sequence.</summary>
    public ReadOnlySequence<byte> ReadSlice(long count)
    {
        if (count < 0 || _reader.Remaining < count)
        {
            SpiceThrow.Truncated(_what);
        }

        var slice = _reader.UnreadSequence.Slice(0, count);
        _reader.Advance(count);
        return slice;
    }

    public void CopyTo(Span<byte> destination)
    {
        if (!_reader.TryCopyTo(destination))
        {
            SpiceThrow.Truncated(_what);
        }

        _reader.Advance(destination.Length);
    }

    public void Skip(long count)
    {
        if (count < 0 || _reader.Remaining < count)
        {
            SpiceThrow.Truncated(_what);
        }

        _reader.Advance(count);
    }
}
