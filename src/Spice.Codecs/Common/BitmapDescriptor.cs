namespace Spice.Codecs;

/// <summary>
/// Describes a bitmap in memory: size, row stride in bytes, pixel format and row order.
/// <see cref="TopDown"/> false means the first row in memory is the bottom row (SPICE's default for bitmaps).
/// </summary>
public readonly record struct BitmapDescriptor(int Width, int Height, int Stride, SpiceBitmapFormat Format, bool TopDown = true)
{
    /// <summary>Bytes a buffer must hold for this bitmap: stride × (height − 1) + the last row.</summary>
    public long RequiredBytes => Height == 0 ? 0 : (long)Stride * (Height - 1) + SpiceBitmapFormats.MinStride(Format, Width);

    /// <summary>A tightly packed BGRX (SPICE 32BIT) descriptor.</summary>
    public static BitmapDescriptor Rgb32(int width, int height) => new(width, height, width * 4, SpiceBitmapFormat.ThirtyTwoBit);

    /// <summary>Throws <see cref="ArgumentException"/> when the descriptor cannot describe <paramref name="pixels"/>.</summary>
    internal void Validate(int pixelsLength, string paramName)
    {
        if (Width <= 0 || Height <= 0)
        {
            throw new ArgumentOutOfRangeException(paramName, "Width and height must be positive.");
        }

        if (SpiceBitmapFormats.BitsPerPixel(Format) == 0)
        {
            throw new ArgumentOutOfRangeException(paramName, Format, "Unknown bitmap format.");
        }

        if (Stride < SpiceBitmapFormats.MinStride(Format, Width))
        {
            throw new ArgumentOutOfRangeException(paramName, Stride, "Stride is smaller than a row.");
        }

        if (pixelsLength < RequiredBytes)
        {
            throw new ArgumentException("The pixel buffer is smaller than the descriptor requires.", paramName);
        }
    }

    /// <summary>Byte offset in memory of visual row <paramref name="y"/> (0 = top).</summary>
    internal int RowOffset(int y) => (TopDown ? y : Height - 1 - y) * Stride;
}
