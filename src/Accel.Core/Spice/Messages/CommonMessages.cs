using System.Buffers;
using System.Buffers.Binary;
using Accel.Core.Spice.Framing;
using Accel.Core.Spice.Link;

namespace Accel.Core.Spice.Messages;

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
        return new SpicePing(id, timestamp, checked((int)reader.Remaining));
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
