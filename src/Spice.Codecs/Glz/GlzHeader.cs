using System.Buffers.Binary;
using Spice.Codecs.Lz;

namespace Spice.Codecs.Glz;

/// <summary>The 33-byte big-endian GLZ header.</summary>
public readonly record struct GlzHeader(LzImageType Type, bool TopDown, int Width, int Height, int Stride, ulong Id, uint WindowHeadDistance)
{
    public const int Size = 33;

    public int Pixels => Width * Height;

    internal void Write(Span<byte> s)
    {
        BinaryPrimitives.WriteUInt32BigEndian(s, LzHeader.Magic);
        BinaryPrimitives.WriteUInt32BigEndian(s[4..], LzHeader.Version);
        s[8] = (byte)(((int)Type & 0x0F) | (TopDown ? 0x10 : 0));
        BinaryPrimitives.WriteUInt32BigEndian(s[9..], (uint)Width);
        BinaryPrimitives.WriteUInt32BigEndian(s[13..], (uint)Height);
        BinaryPrimitives.WriteUInt32BigEndian(s[17..], (uint)Stride);
        BinaryPrimitives.WriteUInt64BigEndian(s[21..], Id);
        BinaryPrimitives.WriteUInt32BigEndian(s[29..], WindowHeadDistance);
    }

    /// <summary>Parses the header. Only the RGB types (RGB16/24/32/RGBA) are accepted, as in spice-gtk.</summary>
    public static OperationStatus TryRead(ReadOnlySpan<byte> s, CodecLimits limits, out GlzHeader header)
    {
        header = default;
        if (s.Length < Size)
        {
            return OperationStatus.InvalidData;
        }

        if (BinaryPrimitives.ReadUInt32BigEndian(s) != LzHeader.Magic || BinaryPrimitives.ReadUInt32BigEndian(s[4..]) != LzHeader.Version)
        {
            return OperationStatus.InvalidData;
        }

        var type = (LzImageType)(s[8] & 0x0F);
        uint width = BinaryPrimitives.ReadUInt32BigEndian(s[9..]);
        uint height = BinaryPrimitives.ReadUInt32BigEndian(s[13..]);
        uint stride = BinaryPrimitives.ReadUInt32BigEndian(s[17..]);
        if (type is not (LzImageType.Rgb16 or LzImageType.Rgb24 or LzImageType.Rgb32 or LzImageType.Rgba) || !limits.Allows(width, height, 4))
        {
            return OperationStatus.InvalidData;
        }

        header = new GlzHeader(type, (s[8] >> 4) != 0, (int)width, (int)height, (int)stride,
            BinaryPrimitives.ReadUInt64BigEndian(s[21..]), BinaryPrimitives.ReadUInt32BigEndian(s[29..]));
        return OperationStatus.Done;
    }
}
