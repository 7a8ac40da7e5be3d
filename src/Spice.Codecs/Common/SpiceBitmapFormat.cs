namespace Spice.Codecs;

/// <summary>SPICE_BITMAP_FMT_* values (wire u8).</summary>
public enum SpiceBitmapFormat : byte
{
    Invalid = 0,
    OneBitLE = 1,
    OneBitBE = 2,
    FourBitLE = 3,
    FourBitBE = 4,
    EightBit = 5,
    /// <summary>x1r5g5b5, little-endian 16-bit words.</summary>
    SixteenBit = 6,
    /// <summary>Bytes B, G, R.</summary>
    TwentyFourBit = 7,
    /// <summary>Bytes B, G, R, x.</summary>
    ThirtyTwoBit = 8,
    /// <summary>Bytes B, G, R, A.</summary>
    Rgba = 9,
    EightBitAlpha = 10,
}

/// <summary>SPICE_IMAGE_TYPE_* values (wire u8).</summary>
public enum SpiceImageType : byte
{
    Bitmap = 0,
    Quic = 1,
    LzPlt = 100,
    LzRgb = 101,
    GlzRgb = 102,
    FromCache = 103,
    Surface = 104,
    Jpeg = 105,
    FromCacheLossless = 106,
    ZlibGlzRgb = 107,
    JpegAlpha = 108,
    Lz4 = 109,
}

/// <summary>Facts about the bitmap formats.</summary>
public static class SpiceBitmapFormats
{
    /// <summary>Bits per pixel of a bitmap format, 0 for an unknown format.</summary>
    public static int BitsPerPixel(SpiceBitmapFormat format) => format switch
    {
        SpiceBitmapFormat.OneBitLE or SpiceBitmapFormat.OneBitBE => 1,
        SpiceBitmapFormat.FourBitLE or SpiceBitmapFormat.FourBitBE => 4,
        SpiceBitmapFormat.EightBit or SpiceBitmapFormat.EightBitAlpha => 8,
        SpiceBitmapFormat.SixteenBit => 16,
        SpiceBitmapFormat.TwentyFourBit => 24,
        SpiceBitmapFormat.ThirtyTwoBit or SpiceBitmapFormat.Rgba => 32,
        _ => 0,
    };

    /// <summary>Minimum stride in bytes of a row of <paramref name="width"/> pixels.</summary>
    public static long MinStride(SpiceBitmapFormat format, int width) => ((long)width * BitsPerPixel(format) + 7) / 8;

    /// <summary>True for the palette formats (1, 4 and 8 bits per pixel).</summary>
    public static bool IsPalette(SpiceBitmapFormat format) =>
        format is >= SpiceBitmapFormat.OneBitLE and <= SpiceBitmapFormat.EightBit;
}
