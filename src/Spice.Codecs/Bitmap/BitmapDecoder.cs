using System.Runtime.InteropServices;

namespace Spice.Codecs.Bitmap;

/// <summary>
/// Converts an uncompressed SPICE BITMAP (any format, either row order) to top-down BGRX/BGRA.
/// 16BIT is x1r5g5b5 expanded as (v &lt;&lt; 3) | (v &gt;&gt; 2); 8BIT_A puts the value in the alpha byte;
/// palette formats need the palette.
/// </summary>
public static class BitmapDecoder
{
    public static OperationStatus Decode(ReadOnlySpan<byte> data, in BitmapDescriptor bitmap, Span<byte> destination, int destinationStride,
        SpicePalette? palette = null, CodecLimits? limits = null)
    {
        limits ??= CodecLimits.Default;
        int bits = SpiceBitmapFormats.BitsPerPixel(bitmap.Format);
        if (bits == 0 || !limits.Allows(bitmap.Width, bitmap.Height, 4) || bitmap.Stride < SpiceBitmapFormats.MinStride(bitmap.Format, bitmap.Width)
            || data.Length < bitmap.RequiredBytes)
        {
            return OperationStatus.InvalidData;
        }

        if (SpiceBitmapFormats.IsPalette(bitmap.Format) && palette == null)
        {
            return OperationStatus.InvalidData;
        }

        int width = bitmap.Width;
        ArgumentOutOfRangeException.ThrowIfLessThan(destinationStride, width * 4);
        if (destination.Length < (long)destinationStride * (bitmap.Height - 1) + width * 4)
        {
            return OperationStatus.DestinationTooSmall;
        }

        for (int y = 0; y < bitmap.Height; y++)
        {
            ReadOnlySpan<byte> src = data.Slice(bitmap.RowOffset(y), (int)SpiceBitmapFormats.MinStride(bitmap.Format, width));
            Span<byte> dstRow = destination.Slice(y * destinationStride, width * 4);
            Span<uint> d = MemoryMarshal.Cast<byte, uint>(dstRow);
            switch (bitmap.Format)
            {
                case SpiceBitmapFormat.ThirtyTwoBit:
                case SpiceBitmapFormat.Rgba:
                    src.CopyTo(dstRow);
                    break;
                case SpiceBitmapFormat.TwentyFourBit:
                    for (int x = 0; x < width; x++)
                    {
                        d[x] = src[x * 3] | ((uint)src[x * 3 + 1] << 8) | ((uint)src[x * 3 + 2] << 16);
                    }

                    break;
                case SpiceBitmapFormat.SixteenBit:
                    for (int x = 0; x < width; x++)
                    {
                        int p = src[x * 2] | (src[x * 2 + 1] << 8);
                        int r = (p >> 10) & 31, g = (p >> 5) & 31, b = p & 31;
                        d[x] = (uint)(((b << 3) | (b >> 2)) | (((g << 3) | (g >> 2)) << 8) | (((r << 3) | (r >> 2)) << 16));
                    }

                    break;
                case SpiceBitmapFormat.EightBitAlpha:
                    for (int x = 0; x < width; x++)
                    {
                        d[x] = (uint)src[x] << 24;
                    }

                    break;
                default:
                    PaletteExpander.ExpandRow(src, dstRow, width, bitmap.Format, palette!);
                    break;
            }
        }

        return OperationStatus.Done;
    }
}
