using System.Buffers;
using System.Buffers.Binary;
using Accel.Core.Spice.Protocol.Framing;

namespace Accel.Core.Spice.Protocol.Messages;

/// <summary>SPICE_MSG_MAIN_INIT: eight u32 fields, 32 bytes.</summary>
internal readonly record struct SpiceMainInit(
    uint SessionId,
    uint DisplayChannelsHint,
    SpiceMouseMode SupportedMouseModes,
    SpiceMouseMode CurrentMouseMode,
    uint AgentConnected,
    uint AgentTokens,
    uint MultiMediaTime,
    uint RamHint) : ISpiceMessageBody
{
    public const int Length = 32;

    public ushort MessageType => (ushort)SpiceMainMsg.Init;

    public int BodyLength => Length;

    public static SpiceMainInit Parse(in ReadOnlySequence<byte> body)
    {
        var reader = new SpiceReader(body, "MAIN_INIT");
        return new SpiceMainInit(
            reader.ReadUInt32(),
            reader.ReadUInt32(),
            (SpiceMouseMode)reader.ReadUInt32(),
            (SpiceMouseMode)reader.ReadUInt32(),
            reader.ReadUInt32(),
            reader.ReadUInt32(),
            reader.ReadUInt32(),
            reader.ReadUInt32());
    }

    public void WriteBody(Span<byte> destination)
    {
        BinaryPrimitives.WriteUInt32LittleEndian(destination, SessionId);
        BinaryPrimitives.WriteUInt32LittleEndian(destination[4..], DisplayChannelsHint);
        BinaryPrimitives.WriteUInt32LittleEndian(destination[8..], (uint)SupportedMouseModes);
        BinaryPrimitives.WriteUInt32LittleEndian(destination[12..], (uint)CurrentMouseMode);
        BinaryPrimitives.WriteUInt32LittleEndian(destination[16..], AgentConnected);
        BinaryPrimitives.WriteUInt32LittleEndian(destination[20..], AgentTokens);
        BinaryPrimitives.WriteUInt32LittleEndian(destination[24..], MultiMediaTime);
        BinaryPrimitives.WriteUInt32LittleEndian(destination[28..], RamHint);
    }
}

/// <summary>SPICE_MSG_MAIN_MOUSE_MODE: u16 supported modes, u16 current mode.</summary>
internal readonly record struct SpiceMainMouseMode(SpiceMouseMode Supported, SpiceMouseMode Current) : ISpiceMessageBody
{
    public const int Length = 4;

    public ushort MessageType => (ushort)SpiceMainMsg.MouseMode;

    public int BodyLength => Length;

    public static SpiceMainMouseMode Parse(in ReadOnlySequence<byte> body)
    {
        var reader = new SpiceReader(body, "MAIN_MOUSE_MODE");
        return new SpiceMainMouseMode((SpiceMouseMode)reader.ReadUInt16(), (SpiceMouseMode)reader.ReadUInt16());
    }

    public void WriteBody(Span<byte> destination)
    {
        BinaryPrimitives.WriteUInt16LittleEndian(destination, (ushort)Supported);
        BinaryPrimitives.WriteUInt16LittleEndian(destination[2..], (ushort)Current);
    }
}

/// <summary>A (type, id) pair of SPICE_MSG_MAIN_CHANNELS_LIST.</summary>
internal readonly record struct SpiceChannelId(SpiceChannelType Type, byte Id);

/// <summary>SPICE_MSG_MAIN_CHANNELS_LIST: u32 count, then count × {u8 type, u8 id}.</summary>
internal static class SpiceChannelsList
{
    /// <summary>Largest count accepted (a session has a handful of channels; 256 per type at most).</summary>
    public const int MaxChannels = 4096;

    public static SpiceChannelId[] Parse(in ReadOnlySequence<byte> body)
    {
        var reader = new SpiceReader(body, "MAIN_CHANNELS_LIST");
        var count = reader.ReadUInt32();
        if (count > MaxChannels || count * 2L > reader.Remaining)
        {
            SpiceThrow.Protocol(SpiceProtocolError.InvalidValue, $"CHANNELS_LIST count {count} does not fit its {body.Length}-byte body.");
        }

        var channels = new SpiceChannelId[count];
        for (var i = 0; i < channels.Length; i++)
        {
            channels[i] = new SpiceChannelId((SpiceChannelType)reader.ReadByte(), reader.ReadByte());
        }

        return channels;
    }

    public static void Write(SpiceMessageWriter writer, IBufferWriter<byte> output, ReadOnlySpan<SpiceChannelId> channels)
    {
        ArgumentNullException.ThrowIfNull(writer);
        ArgumentNullException.ThrowIfNull(output);
        var length = 4 + (2 * channels.Length);
        writer.WriteHeader(output, (ushort)SpiceMainMsg.ChannelsList, length);
        var span = output.GetSpan(length);
        BinaryPrimitives.WriteUInt32LittleEndian(span, (uint)channels.Length);
        for (var i = 0; i < channels.Length; i++)
        {
            span[4 + (2 * i)] = (byte)channels[i].Type;
            span[5 + (2 * i)] = channels[i].Id;
        }

        output.Advance(length);
    }
}
