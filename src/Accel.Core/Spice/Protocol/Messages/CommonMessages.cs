using System.Buffers;
using System.Buffers.Binary;
using Accel.Core.Spice.Protocol.Framing;
using Accel.Core.Spice.Protocol.Link;

namespace Accel.Core.Spice.Protocol.Messages;

// Bodies of the common messages (spice.proto BaseChannel). Parsers accept trailing bytes, as spice's demarshallers do.

/// <summary>SPICE_MSG_SET_ACK (server → client): u32 generation, u32 window.</summary>
internal readonly record struct SpiceSetAck(uint Generation, uint Window) : ISpiceMessageBody
{
    public const int Length = 8;

    public ushort MessageType => (ushort)SpiceMsg.SetAck;

    public int BodyLength => Length;

    public static SpiceSetAck Parse(in ReadOnlySequence<byte> body)
    {
        var reader = new SpiceReader(body, "SET_ACK");
        return new SpiceSetAck(reader.ReadUInt32(), reader.ReadUInt32());
    }

    public void WriteBody(Span<byte> destination)
    {
        BinaryPrimitives.WriteUInt32LittleEndian(destination, Generation);
        BinaryPrimitives.WriteUInt32LittleEndian(destination[4..], Window);
    }
}

/// <summary>SPICE_MSGC_ACK_SYNC (client → server): u32 generation.</summary>
internal readonly record struct SpiceAckSync(uint Generation) : ISpiceMessageBody
{
    public const int Length = 4;

    public ushort MessageType => (ushort)SpiceMsgc.AckSync;

    public int BodyLength => Length;

    public static SpiceAckSync Parse(in ReadOnlySequence<byte> body)
    {
        var reader = new SpiceReader(body, "ACK_SYNC");
        return new SpiceAckSync(reader.ReadUInt32());
    }

    public void WriteBody(Span<byte> destination) => BinaryPrimitives.WriteUInt32LittleEndian(destination, Generation);
}

/// <summary>An empty-bodied message of any type (ACK, MOUSE_MOTION_ACK, ATTACH_CHANNELS, MIGRATE_FLUSH_MARK, …).</summary>
internal readonly record struct SpiceEmptyMessage(ushort MessageType) : ISpiceMessageBody
{
    public static SpiceEmptyMessage Ack => new((ushort)SpiceMsgc.Ack);

    public static SpiceEmptyMessage MouseMotionAck => new((ushort)SpiceInputsMsg.MouseMotionAck);

    public int BodyLength => 0;

    public void WriteBody(Span<byte> destination)
    {
    }
}

/// <summary>
/// SPICE_MSG_PING (server → client): u32 id, u64 timestamp (server monotonic µs), then padding to the end of the
/// message. The network test's third ping carries 256 000 zero bytes of padding.
/// </summary>
internal readonly record struct SpicePing(uint Id, ulong Timestamp, int PaddingLength) : ISpiceMessageBody
{
    public const int FixedLength = 12;

    public ushort MessageType => (ushort)SpiceMsg.Ping;

    public int BodyLength => FixedLength + PaddingLength;

    public static SpicePing Parse(in ReadOnlySequence<byte> body)
    {
        var reader = new SpiceReader(body, "PING");
        var id = reader.ReadUInt32();
        var timestamp = reader.ReadUInt64();
        if (reader.Remaining > int.MaxValue)
        {
            SpiceThrow.Protocol(SpiceProtocolError.MessageTooLarge, "PING padding exceeds 2 GiB.");
        }

        return new SpicePing(id, timestamp, (int)reader.Remaining);
    }

    /// <summary>The PONG that answers this ping (the padding is not echoed).</summary>
    public SpicePong ToPong() => new(Id, Timestamp);

    public void WriteBody(Span<byte> destination)
    {
        BinaryPrimitives.WriteUInt32LittleEndian(destination, Id);
        BinaryPrimitives.WriteUInt64LittleEndian(destination[4..], Timestamp);
        destination.Slice(FixedLength, PaddingLength).Clear();
    }

    /// <summary>Writes the ping with its zero padding in bounded chunks (a 256 KB ping never needs one big span).</summary>
    public void WriteTo(SpiceMessageWriter writer, IBufferWriter<byte> output)
    {
        ArgumentNullException.ThrowIfNull(writer);
        ArgumentNullException.ThrowIfNull(output);
        ArgumentOutOfRangeException.ThrowIfNegative(PaddingLength);
        writer.WriteHeader(output, MessageType, BodyLength);
        var head = output.GetSpan(FixedLength);
        BinaryPrimitives.WriteUInt32LittleEndian(head, Id);
        BinaryPrimitives.WriteUInt64LittleEndian(head[4..], Timestamp);
        output.Advance(FixedLength);
        var left = PaddingLength;
        while (left > 0)
        {
            var span = output.GetSpan(Math.Min(left, 16 * 1024));
            var n = Math.Min(left, span.Length);
            span[..n].Clear();
            output.Advance(n);
            left -= n;
        }
    }
}

/// <summary>SPICE_MSGC_PONG (client → server): u32 id, u64 timestamp, echoed from the PING.</summary>
internal readonly record struct SpicePong(uint Id, ulong Timestamp) : ISpiceMessageBody
{
    public const int Length = 12;

    public ushort MessageType => (ushort)SpiceMsgc.Pong;

    public int BodyLength => Length;

    public static SpicePong Parse(in ReadOnlySequence<byte> body)
    {
        var reader = new SpiceReader(body, "PONG");
        return new SpicePong(reader.ReadUInt32(), reader.ReadUInt64());
    }

    public void WriteBody(Span<byte> destination)
    {
        BinaryPrimitives.WriteUInt32LittleEndian(destination, Id);
        BinaryPrimitives.WriteUInt64LittleEndian(destination[4..], Timestamp);
    }
}

/// <summary>SPICE_MSG(C)_DISCONNECTING, both directions (type 6): u64 time_stamp, u32 reason.</summary>
internal readonly record struct SpiceDisconnecting(ulong TimeStamp, SpiceLinkError Reason) : ISpiceMessageBody
{
    public const int Length = 12;

    public ushort MessageType => (ushort)SpiceMsg.Disconnecting;

    public int BodyLength => Length;

    public static SpiceDisconnecting Parse(in ReadOnlySequence<byte> body)
    {
        var reader = new SpiceReader(body, "DISCONNECTING");
        return new SpiceDisconnecting(reader.ReadUInt64(), (SpiceLinkError)reader.ReadUInt32());
    }

    public void WriteBody(Span<byte> destination)
    {
        BinaryPrimitives.WriteUInt64LittleEndian(destination, TimeStamp);
        BinaryPrimitives.WriteUInt32LittleEndian(destination[8..], (uint)Reason);
    }
}

/// <summary>SPICE_MSG_MIGRATE (server → client): u32 flags.</summary>
internal readonly record struct SpiceMigrate(SpiceMigrateFlags Flags) : ISpiceMessageBody
{
    public const int Length = 4;

    public ushort MessageType => (ushort)SpiceMsg.Migrate;

    public int BodyLength => Length;

    public static SpiceMigrate Parse(in ReadOnlySequence<byte> body)
    {
        var reader = new SpiceReader(body, "MIGRATE");
        return new SpiceMigrate((SpiceMigrateFlags)reader.ReadUInt32());
    }

    public void WriteBody(Span<byte> destination) => BinaryPrimitives.WriteUInt32LittleEndian(destination, (uint)Flags);
}

/// <summary>One entry of WAIT_FOR_CHANNELS: wait until that channel has received message <see cref="MessageSerial"/>.</summary>
internal readonly record struct SpiceChannelWait(SpiceChannelType ChannelType, byte ChannelId, ulong MessageSerial);

/// <summary>
/// SPICE_MSG_WAIT_FOR_CHANNELS (server → client): u8 count, count × {u8 type, u8 id, u64 serial}. The serials are
/// per-channel message counts on the client leg, so an edge that changes message counts must translate them.
/// </summary>
internal static class SpiceWaitForChannels
{
    public const int EntryLength = 10;

    public static SpiceChannelWait[] Parse(in ReadOnlySequence<byte> body)
    {
        var reader = new SpiceReader(body, "WAIT_FOR_CHANNELS");
        var count = reader.ReadByte();
        if (reader.Remaining < (long)count * EntryLength)
        {
            SpiceThrow.Truncated("WAIT_FOR_CHANNELS");
        }

        var waits = new SpiceChannelWait[count];
        for (var i = 0; i < waits.Length; i++)
        {
            waits[i] = new SpiceChannelWait((SpiceChannelType)reader.ReadByte(), reader.ReadByte(), reader.ReadUInt64());
        }

        return waits;
    }

    public static void Write(SpiceMessageWriter writer, IBufferWriter<byte> output, ReadOnlySpan<SpiceChannelWait> waits)
    {
        ArgumentNullException.ThrowIfNull(writer);
        ArgumentNullException.ThrowIfNull(output);
        if (waits.Length > byte.MaxValue)
        {
            throw new ArgumentOutOfRangeException(nameof(waits), "At most 255 entries.");
        }

        var length = 1 + (EntryLength * waits.Length);
        writer.WriteHeader(output, (ushort)SpiceMsg.WaitForChannels, length);
        var span = output.GetSpan(length);
        span[0] = (byte)waits.Length;
        for (var i = 0; i < waits.Length; i++)
        {
            var entry = span.Slice(1 + (EntryLength * i), EntryLength);
            entry[0] = (byte)waits[i].ChannelType;
            entry[1] = waits[i].ChannelId;
            BinaryPrimitives.WriteUInt64LittleEndian(entry[2..], waits[i].MessageSerial);
        }

        output.Advance(length);
    }
}
