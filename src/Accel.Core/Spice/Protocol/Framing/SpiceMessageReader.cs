using System.Buffers;
using System.Buffers.Binary;
using Accel.Core.Spice.Protocol.Link;

namespace Accel.Core.Spice.Protocol.Framing;

/// <summary>
/// Frames the message phase of one direction of one channel. Use once per read:
/// <code>
/// var buffer = result.Buffer;
/// while (reader.TryRead(ref buffer, out var message)) { ... }
/// pipe.AdvanceTo(buffer.Start, buffer.End);
/// </code>
/// The announced size is checked against the maximum as soon as the header is buffered, before the body.
/// </summary>
internal sealed class SpiceMessageReader
{
    private readonly bool _miniHeader;
    private readonly int _maxMessageSize;
    private ulong _implicitSerial;

    public SpiceMessageReader(bool miniHeader, int maxMessageSize)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(maxMessageSize);
        _miniHeader = miniHeader;
        _maxMessageSize = maxMessageSize;
    }

    /// <summary>A reader for one direction of a linked channel: its header kind and its channel type's maximum.</summary>
    public static SpiceMessageReader ForSession(LinkSession session, SpiceFramingLimits? limits = null)
    {
        ArgumentNullException.ThrowIfNull(session);
        return new SpiceMessageReader(session.UseMiniHeader, (limits ?? SpiceFramingLimits.Default).For(session.ChannelType));
    }

    public bool MiniHeader => _miniHeader;

    public int MaxMessageSize => _maxMessageSize;

    public int HeaderLength => SpiceDataHeader.Length(_miniHeader);

    /// <summary>Messages framed so far.</summary>
    public long MessagesRead { get; private set; }

    /// <summary>Serial of the last message framed (0 before the first).</summary>
    public ulong LastSerial { get; private set; }

    /// <summary>
    /// Frames the next message. Returns false, consuming nothing, when the header or the body is not fully
    /// buffered. Throws <see cref="SpiceProtocolException"/> when the size exceeds the maximum or a full header's
    /// sub_list does not point into the body.
    /// </summary>
    public bool TryRead(ref ReadOnlySequence<byte> buffer, out SpiceMessage message)
    {
        message = default;
        if (!TryPeekHeader(buffer, out var header) || buffer.Length - header.HeaderLength < header.Size)
        {
            return false;
        }

        var body = buffer.Slice(header.HeaderLength, header.Size);
        message = new SpiceMessage(header.Type, header.Serial, body, header.SubListOffset, header.HeaderLength);
        buffer = buffer.Slice(body.End);
        Count(header);
        return true;
    }

    /// <summary>
    /// Reads the next header without consuming it, once it is buffered; the body need not be. The size and sub_list
    /// are checked here, so a caller that streams the body never waits for one the channel does not allow.
    /// </summary>
    public bool TryPeekHeader(in ReadOnlySequence<byte> buffer, out SpiceMessageHeader header)
    {
        header = default;
        var headerLength = HeaderLength;
        if (buffer.Length < headerLength)
        {
            return false;
        }

        Span<byte> bytes = stackalloc byte[SpiceDataHeader.FullLength];
        bytes = bytes[..headerLength];
        buffer.Slice(0, headerLength).CopyTo(bytes);

        ulong serial;
        ushort type;
        uint size;
        uint subList = 0;
        if (_miniHeader)
        {
            type = BinaryPrimitives.ReadUInt16LittleEndian(bytes);
            size = BinaryPrimitives.ReadUInt32LittleEndian(bytes[2..]);
            serial = _implicitSerial + 1;
        }
        else
        {
            serial = BinaryPrimitives.ReadUInt64LittleEndian(bytes);
            type = BinaryPrimitives.ReadUInt16LittleEndian(bytes[8..]);
            size = BinaryPrimitives.ReadUInt32LittleEndian(bytes[10..]);
            subList = BinaryPrimitives.ReadUInt32LittleEndian(bytes[14..]);
        }

        if (size > (uint)_maxMessageSize)
        {
            SpiceThrow.Protocol(SpiceProtocolError.MessageTooLarge, $"Message type {type} announces {size} bytes; the maximum is {_maxMessageSize}.");
        }

        if (subList != 0 && subList >= size)
        {
            SpiceThrow.Protocol(SpiceProtocolError.InvalidSubMessageList, $"Message type {type}: sub_list offset {subList} is outside its {size}-byte body.");
        }

        header = new SpiceMessageHeader(type, size, serial, subList, headerLength);
        return true;
    }

    /// <summary>
    /// Consumes a header from <see cref="TryPeekHeader"/> whose body the caller streams itself (it is not framed here):
    /// the message counts as read.
    /// </summary>
    public void SkipHeader(ref ReadOnlySequence<byte> buffer, in SpiceMessageHeader header)
    {
        buffer = buffer.Slice(header.HeaderLength);
        Count(header);
    }

    private void Count(in SpiceMessageHeader header)
    {
        _implicitSerial++;
        LastSerial = header.Serial;
        MessagesRead++;
    }
}

/// <summary>A message header as read: type, body size, serial, sub_list offset, and its own length on the wire.</summary>
internal readonly record struct SpiceMessageHeader(ushort Type, uint Size, ulong Serial, uint SubListOffset, int HeaderLength);
