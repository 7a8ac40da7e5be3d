using System.Buffers;
using System.Buffers.Binary;

namespace Accel.Core.Spice.Protocol.Link;

/// <summary>
/// SpiceLinkMess (client → server): connection id, channel type and id, and the client's capabilities.
/// On the wire: link header, 18 fixed bytes, then common and channel capability words at <c>caps_offset</c>.
/// </summary>
internal sealed record SpiceLinkMess(
    uint ConnectionId,
    SpiceChannelType ChannelType,
    byte ChannelId,
    SpiceCapabilitySet CommonCaps,
    SpiceCapabilitySet ChannelCaps)
{
    public const int FixedLength = 18;

    /// <summary>The minor version from the link header (2 for every current implementation).</summary>
    public uint MinorVersion { get; init; } = SpiceLinkHeader.CurrentMinorVersion;

    /// <summary>Bytes after the link header as written by <see cref="WriteTo"/>.</summary>
    public int BodyLength => FixedLength + (4 * (CommonCaps.WordCount + ChannelCaps.WordCount));

    /// <summary>Header plus body.</summary>
    public int TotalLength => SpiceLinkHeader.Length + BodyLength;

    /// <summary>
    /// Parses link header and SpiceLinkMess. Returns false (consuming nothing) until the whole message is buffered.
    /// The announced size is checked against <paramref name="maxSize"/> before waiting for the body.
    /// </summary>
    public static bool TryParse(ref ReadOnlySequence<byte> buffer, uint maxSize, out SpiceLinkMess? message)
    {
        message = null;
        var work = buffer;
        if (!SpiceLinkHeader.TryParse(ref work, maxSize, out var header))
        {
            return false;
        }

        if (header.Size < FixedLength)
        {
            SpiceThrow.Protocol(SpiceProtocolError.LinkMessageTooSmall, $"SpiceLinkMess of {header.Size} bytes is shorter than {FixedLength}.");
        }

        if (work.Length < header.Size)
        {
            return false;
        }

        var body = work.Slice(0, header.Size);
        var reader = new SpiceReader(body, "SpiceLinkMess");
        var connectionId = reader.ReadUInt32();
        var channelType = (SpiceChannelType)reader.ReadByte();
        var channelId = reader.ReadByte();
        var commonCount = reader.ReadUInt32();
        var channelCount = reader.ReadUInt32();
        var capsOffset = reader.ReadUInt32();
        SpiceLinkCaps.Read(body, commonCount, channelCount, capsOffset, FixedLength, out var common, out var channel);

        message = new SpiceLinkMess(connectionId, channelType, channelId, common, channel) { MinorVersion = header.MinorVersion };
        buffer = work.Slice(header.Size);
        return true;
    }

    /// <summary>Writes link header and message, capabilities right after the fixed part (caps_offset = 18).</summary>
    public void WriteTo(IBufferWriter<byte> output)
    {
        ArgumentNullException.ThrowIfNull(output);
        var span = output.GetSpan(TotalLength);
        new SpiceLinkHeader(SpiceLinkHeader.CurrentMajorVersion, MinorVersion, (uint)BodyLength).WriteTo(span);
        var body = span[SpiceLinkHeader.Length..];
        BinaryPrimitives.WriteUInt32LittleEndian(body, ConnectionId);
        body[4] = (byte)ChannelType;
        body[5] = ChannelId;
        BinaryPrimitives.WriteUInt32LittleEndian(body[6..], (uint)CommonCaps.WordCount);
        BinaryPrimitives.WriteUInt32LittleEndian(body[10..], (uint)ChannelCaps.WordCount);
        BinaryPrimitives.WriteUInt32LittleEndian(body[14..], FixedLength);
        SpiceLinkCaps.Write(body[FixedLength..], CommonCaps, ChannelCaps);
        output.Advance(TotalLength);
    }
}
