namespace Spice.Codecs.Lz;

/// <summary>LzImageType from spice-common lz_common.h (u32 in the LZ header, low nibble in GLZ).</summary>
public enum LzImageType
{
    Invalid = 0,
    Plt1LE = 1,
    Plt1BE = 2,
    Plt4LE = 3,
    Plt4BE = 4,
    Plt8 = 5,
    Rgb16 = 6,
    Rgb24 = 7,
    Rgb32 = 8,
    Rgba = 9,
    /// <summary>Only the alpha byte of 4-byte pixels (used by JPEG_ALPHA).</summary>
    Xxxa = 10,
    A8 = 11,
}

/// <summary>A parsed LZ header (seven big-endian u32).</summary>
public readonly record struct LzHeader(LzImageType Type, int Width, int Height, int Stride, bool TopDown)
{
    public const uint Magic = 0x20205A4C;
    public const uint Version = 0x00010001;
    public const int Size = 28;

    /// <summary>Pixels in the decoded stream: width × height, or stride × pixels-per-byte × height for PLT.</summary>
    public long PixelCount => LzFormat.IsPalette(Type)
        ? (long)Stride * LzFormat.PixelsPerByte(Type) * Height
        : (long)Width * Height;
}

/// <summary>Per-type facts (spice-common lz_common.h tables).</summary>
public static class LzFormat
{
    public static bool IsPalette(LzImageType type) => type is >= LzImageType.Plt1LE and <= LzImageType.Plt8;

    /// <summary>Pixels per byte of the PLT types (8, 2, 1), 0 otherwise.</summary>
    public static int PixelsPerByte(LzImageType type) => type switch
    {
        LzImageType.Plt1LE or LzImageType.Plt1BE => 8,
        LzImageType.Plt4LE or LzImageType.Plt4BE => 2,
        LzImageType.Plt8 => 1,
        _ => 0,
    };

    /// <summary>Bytes per pixel in the source bitmap (1 for PLT, as spice-common's table).</summary>
    public static int BytesPerPixel(LzImageType type) => type switch
    {
        LzImageType.Rgb16 => 2,
        LzImageType.Rgb24 => 3,
        LzImageType.Rgb32 or LzImageType.Rgba or LzImageType.Xxxa => 4,
        LzImageType.Invalid => 0,
        _ => 1,
    };

    /// <summary>The LZ type for a bitmap format, or <see cref="LzImageType.Invalid"/>.</summary>
    public static LzImageType FromBitmapFormat(SpiceBitmapFormat format) => format switch
    {
        SpiceBitmapFormat.OneBitLE => LzImageType.Plt1LE,
        SpiceBitmapFormat.OneBitBE => LzImageType.Plt1BE,
        SpiceBitmapFormat.FourBitLE => LzImageType.Plt4LE,
        SpiceBitmapFormat.FourBitBE => LzImageType.Plt4BE,
        SpiceBitmapFormat.EightBit => LzImageType.Plt8,
        SpiceBitmapFormat.SixteenBit => LzImageType.Rgb16,
        SpiceBitmapFormat.TwentyFourBit => LzImageType.Rgb24,
        SpiceBitmapFormat.ThirtyTwoBit => LzImageType.Rgb32,
        SpiceBitmapFormat.Rgba => LzImageType.Rgba,
        SpiceBitmapFormat.EightBitAlpha => LzImageType.A8,
        _ => LzImageType.Invalid,
    };

    /// <summary>Checks the stride rule of lz_set_sizes.</summary>
    internal static bool IsValidStride(LzImageType type, long width, long stride)
    {
        if (IsPalette(type))
        {
            int ppb = PixelsPerByte(type);
            long floor = width / ppb;
            return stride >= (width + ppb - 1) / ppb && (stride <= floor || (width % ppb != 0 && stride - floor <= 1));
        }

        return stride == width * BytesPerPixel(type);
    }
}
