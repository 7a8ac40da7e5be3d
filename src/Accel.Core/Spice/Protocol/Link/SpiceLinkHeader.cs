using System.Buffers;
using System.Buffers.Binary;

namespace Accel.Core.Spice.Protocol.Link;

/// <summary>
/// The 16-byte header in front of SpiceLinkMess and SpiceLinkReply: magic "REDQ", major 2, minor, size of what follows.
/// </summary>
internal readonly record struct SpiceLinkHeader(uint MajorVersion, uint MinorVersion, uint Size)
{
    public const int Length = 16;

    /// <summary>"REDQ" read as a little-endian u32.</summary>
    public const uint Magic = 0x51444552;

    public const uint CurrentMajorVersion = 2;

    public const uint CurrentMinorVersion = 2;

    /// <summary>spice-server rejects link messages larger than this.</summary>
    public const uint DefaultMaxSize = 4096;

    private static ReadOnlySpan<byte> MagicBytes => "REDQ"u8;

    /// <summary>
    /// Parses a link header. Returns false when fewer than 16 bytes are buffered. The magic is checked on whatever
    /// prefix is present, so a non-SPICE peer (an HTTP request) is rejected at once. Throws on a wrong magic, a
    /// major version other than 2, or a size above <paramref name="maxSize"/>, before any body is buffered.
    /// </summary>
    public static bool TryParse(ref ReadOnlySequence<byte> buffer, uint maxSize, out SpiceLinkHeader header)
    {
        header = default;
        Span<byte> bytes = stackalloc byte[Length];
        var available = (int)Math.Min(buffer.Length, Length);
        buffer.Slice(0, available).CopyTo(bytes);
        var magicPrefix = Math.Min(available, MagicBytes.Length);
        if (!bytes[..magicPrefix].SequenceEqual(MagicBytes[..magicPrefix]))
        {
            SpiceThrow.Protocol(SpiceProtocolError.InvalidMagic, "The link header does not start with \"REDQ\".");
        }

        if (available < Length)
        {
            return false;
        }

        var major = BinaryPrimitives.ReadUInt32LittleEndian(bytes[4..]);
        var minor = BinaryPrimitives.ReadUInt32LittleEndian(bytes[8..]);
        var size = BinaryPrimitives.ReadUInt32LittleEndian(bytes[12..]);
        if (major != CurrentMajorVersion)
        {
            SpiceThrow.Protocol(SpiceProtocolError.UnsupportedVersion, $"Link major version {major} is not {CurrentMajorVersion}.");
        }

        if (size > maxSize)
        {
            SpiceThrow.Protocol(SpiceProtocolError.LinkMessageTooLarge, $"Link message of {size} bytes exceeds the maximum of {maxSize}.");
        }

        header = new SpiceLinkHeader(major, minor, size);
        buffer = buffer.Slice(Length);
        return true;
    }

    public void WriteTo(Span<byte> destination)
    {
        BinaryPrimitives.WriteUInt32LittleEndian(destination, Magic);
        BinaryPrimitives.WriteUInt32LittleEndian(destination[4..], MajorVersion);
        BinaryPrimitives.WriteUInt32LittleEndian(destination[8..], MinorVersion);
        BinaryPrimitives.WriteUInt32LittleEndian(destination[12..], Size);
    }
}

/// <summary>Shared parsing of the capability words at the end of SpiceLinkMess and SpiceLinkReply.</summary>
internal static class SpiceLinkCaps
{
    public static void Read(
        in ReadOnlySequence<byte> body,
        uint commonCount,
        uint channelCount,
        uint capsOffset,
        int fixedLength,
        out SpiceCapabilitySet common,
        out SpiceCapabilitySet channel)
    {
        if (commonCount > SpiceCapabilitySet.MaxWords || channelCount > SpiceCapabilitySet.MaxWords)
        {
            SpiceThrow.Protocol(SpiceProtocolError.InvalidCapabilities, $"Too many capability words ({commonCount} common, {channelCount} channel).");
        }

        var total = commonCount + channelCount;
        if (total == 0)
        {
            common = SpiceCapabilitySet.Empty;
            channel = SpiceCapabilitySet.Empty;
            return;
        }

        if (capsOffset < fixedLength || capsOffset + (4L * total) > body.Length)
        {
            SpiceThrow.Protocol(SpiceProtocolError.InvalidCapabilities, $"Capabilities at offset {capsOffset} ({total} words) do not fit a {body.Length}-byte link message.");
        }

        Span<uint> words = stackalloc uint[(int)total];
        var reader = new SpiceReader(body.Slice(capsOffset), "link capabilities");
        for (var i = 0; i < words.Length; i++)
        {
            words[i] = reader.ReadUInt32();
        }

        common = SpiceCapabilitySet.FromWords(words[..(int)commonCount]);
        channel = SpiceCapabilitySet.FromWords(words[(int)commonCount..]);
    }

    public static void Write(Span<byte> destination, SpiceCapabilitySet common, SpiceCapabilitySet channel)
    {
        var offset = 0;
        foreach (var word in common.Words)
        {
            BinaryPrimitives.WriteUInt32LittleEndian(destination[offset..], word);
            offset += 4;
        }

        foreach (var word in channel.Words)
        {
            BinaryPrimitives.WriteUInt32LittleEndian(destination[offset..], word);
            offset += 4;
        }
    }
}
