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
        var headerLength = HeaderLength;
        if (buffer.Length < headerLength)
        {
            return false;
        }

        Span<byte> header = stackalloc byte[SpiceDataHeader.FullLength];
        header = header[..headerLength];
        buffer.Slice(0, headerLength).CopyTo(header);

        ulong serial;
        ushort type;
        uint size;
        uint subList = 0;
        if (_miniHeader)
        {
            type = BinaryPrimitives.ReadUInt16LittleEndian(header);
            size = BinaryPrimitives.ReadUInt32LittleEndian(header[2..]);
            serial = _implicitSerial + 1;
        }
        else
        {
            serial = BinaryPrimitives.ReadUInt64LittleEndian(header);
            type = BinaryPrimitives.ReadUInt16LittleEndian(header[8..]);
            size = BinaryPrimitives.ReadUInt32LittleEndian(header[10..]);
            subList = BinaryPrimitives.ReadUInt32LittleEndian(header[14..]);
        }

        if (size > (uint)_maxMessageSize)
        {
            SpiceThrow.Protocol(SpiceProtocolError.MessageTooLarge, $"Message type {type} announces {size} bytes; the maximum is {_maxMessageSize}.");
        }

        if (subList != 0 && subList >= size)
        {
            SpiceThrow.Protocol(SpiceProtocolError.InvalidSubMessageList, $"Message type {type}: sub_list offset {subList} is outside its {size}-byte body.");
        }

        if (buffer.Length - headerLength < size)
        {
            return false;
        }

        var body = buffer.Slice(headerLength, size);
        message = new SpiceMessage(type, serial, body, subList, headerLength);
        buffer = buffer.Slice(body.End);
        _implicitSerial++;
        LastSerial = serial;
        MessagesRead++;
        return true;
    }
}
