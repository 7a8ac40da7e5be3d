using System.Buffers;
using System.Buffers.Binary;

namespace Accel.Core.Spice.Protocol.Link;

/// <summary>
/// SpiceLinkReply (server → client): error, the server's 1024-bit RSA public key (162 bytes of DER
/// SubjectPublicKeyInfo, fresh per link), and the server's capabilities. Error replies carry only the error.
/// </summary>
internal sealed record SpiceLinkReply(
    SpiceLinkError Error,
    ReadOnlyMemory<byte> PublicKey,
    SpiceCapabilitySet CommonCaps,
    SpiceCapabilitySet ChannelCaps)
{
    public const int PublicKeyLength = 162;

    public const int FixedLength = 4 + PublicKeyLength + 12;

    public uint MinorVersion { get; init; } = SpiceLinkHeader.CurrentMinorVersion;

    public int BodyLength => FixedLength + (4 * (CommonCaps.WordCount + ChannelCaps.WordCount));

    public int TotalLength => SpiceLinkHeader.Length + BodyLength;

    /// <summary>An error reply as spice-server sends it: zeroed body, only <paramref name="error"/> set.</summary>
    public static SpiceLinkReply ForError(SpiceLinkError error) =>
        new(error, new byte[PublicKeyLength], SpiceCapabilitySet.Empty, SpiceCapabilitySet.Empty);

    /// <summary>
    /// Parses link header and SpiceLinkReply. Returns false (consuming nothing) until the whole reply is buffered.
    /// </summary>
    public static bool TryParse(ref ReadOnlySequence<byte> buffer, uint maxSize, out SpiceLinkReply? reply)
    {
        reply = null;
        var work = buffer;
        if (!SpiceLinkHeader.TryParse(ref work, maxSize, out var header))
        {
            return false;
        }

        if (header.Size < FixedLength)
        {
            SpiceThrow.Protocol(SpiceProtocolError.LinkMessageTooSmall, $"SpiceLinkReply of {header.Size} bytes is shorter than {FixedLength}.");
        }

        if (work.Length < header.Size)
        {
            return false;
        }

        var body = work.Slice(0, header.Size);
        var reader = new SpiceReader(body, "SpiceLinkReply");
        var error = (SpiceLinkError)reader.ReadUInt32();
        var key = new byte[PublicKeyLength];
        reader.CopyTo(key);
        var commonCount = reader.ReadUInt32();
        var channelCount = reader.ReadUInt32();
        var capsOffset = reader.ReadUInt32();
        SpiceLinkCaps.Read(body, commonCount, channelCount, capsOffset, FixedLength, out var common, out var channel);

        reply = new SpiceLinkReply(error, key, common, channel) { MinorVersion = header.MinorVersion };
        buffer = work.Slice(header.Size);
        return true;
    }

    public void WriteTo(IBufferWriter<byte> output)
    {
        ArgumentNullException.ThrowIfNull(output);
        if (PublicKey.Length != PublicKeyLength)
        {
            throw new InvalidOperationException($"The public key must be {PublicKeyLength} bytes, not {PublicKey.Length}.");
        }

        var span = output.GetSpan(TotalLength);
        new SpiceLinkHeader(SpiceLinkHeader.CurrentMajorVersion, MinorVersion, (uint)BodyLength).WriteTo(span);
        var body = span[SpiceLinkHeader.Length..];
        BinaryPrimitives.WriteUInt32LittleEndian(body, (uint)Error);
        PublicKey.Span.CopyTo(body[4..]);
        BinaryPrimitives.WriteUInt32LittleEndian(body[166..], (uint)CommonCaps.WordCount);
        BinaryPrimitives.WriteUInt32LittleEndian(body[170..], (uint)ChannelCaps.WordCount);
        BinaryPrimitives.WriteUInt32LittleEndian(body[174..], FixedLength);
        SpiceLinkCaps.Write(body[FixedLength..], CommonCaps, ChannelCaps);
        output.Advance(TotalLength);
    }
}
