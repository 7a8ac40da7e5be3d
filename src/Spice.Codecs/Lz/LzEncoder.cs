using System.Buffers;
using System.Runtime.InteropServices;

namespace Spice.Codecs.Lz;

/// <summary>Options for the LZ encoder.</summary>
public sealed class LzEncoderOptions
{
    public static LzEncoderOptions Default { get; } = new();

    /// <summary>
    /// The LZ type to produce; <see cref="LzImageType.Invalid"/> derives it from the bitmap format.
    /// <see cref="LzImageType.Xxxa"/> takes a 32-bit bitmap and codes only its alpha bytes.
    /// </summary>
    public LzImageType Type { get; init; }
}

/// <summary>
/// SPICE LZ encoder (spice-common lz.c). Byte-identical to the C encoder for an image passed as one chunk.
/// </summary>
public static class LzEncoder
{
    /// <summary>Worst-case encoded size (header, literals, one count byte per 32 literals).</summary>
    public static int GetMaxEncodedLength(int width, int height, LzImageType type)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(width);
        ArgumentOutOfRangeException.ThrowIfNegative(height);
        long pixels;
        long unitBytes;
        if (LzFormat.IsPalette(type))
        {
            pixels = (((long)width + LzFormat.PixelsPerByte(type) - 1) / LzFormat.PixelsPerByte(type) + 1) * height;
            unitBytes = 1;
        }
        else
        {
            pixels = (long)width * height;
            unitBytes = type switch
            {
                LzImageType.Rgb16 => 2,
                LzImageType.Rgb24 or LzImageType.Rgb32 => 3,
                LzImageType.Rgba => 4,
                _ => 1,
            };
        }

        long passes = type == LzImageType.Rgba ? 2 : 1;
        long max = LzHeader.Size + pixels * unitBytes + passes * (pixels / 32 + 2) + 16;
        return max > Array.MaxLength ? throw new ArgumentOutOfRangeException(nameof(width), "Image too large.") : (int)max;
    }

    /// <summary>One-shot encode; false when <paramref name="destination"/> is too small.</summary>
    public static bool TryEncode(ReadOnlySpan<byte> pixels, in BitmapDescriptor bitmap, Span<byte> destination, out int written, LzEncoderOptions? options = null)
    {
        return Encode(pixels, bitmap, destination, out written, options) == OperationStatus.Done;
    }

    /// <summary>
    /// Encodes a bitmap. Rows are coded in memory order and the header's top_down is <see cref="BitmapDescriptor.TopDown"/>.
    /// Returns <see cref="OperationStatus.DestinationTooSmall"/> when the output does not fit.
    /// </summary>
    public static OperationStatus Encode(ReadOnlySpan<byte> pixels, in BitmapDescriptor bitmap, Span<byte> destination, out int written, LzEncoderOptions? options = null)
    {
        bitmap.Validate(pixels.Length, nameof(bitmap));
        options ??= LzEncoderOptions.Default;
        LzImageType type = options.Type != LzImageType.Invalid ? options.Type : LzFormat.FromBitmapFormat(bitmap.Format);
        if (type == LzImageType.Invalid)
        {
            throw new ArgumentException($"Bitmap format {bitmap.Format} has no LZ type.", nameof(bitmap));
        }

        if (type == LzImageType.Xxxa && bitmap.Format is not (SpiceBitmapFormat.Rgba or SpiceBitmapFormat.ThirtyTwoBit))
        {
            throw new ArgumentException("XXXA needs a 32-bit bitmap.", nameof(options));
        }

        if (type != LzImageType.Xxxa && LzFormat.FromBitmapFormat(bitmap.Format) != type
            && !(type == LzImageType.Rgb32 && bitmap.Format == SpiceBitmapFormat.Rgba))
        {
            throw new ArgumentException($"LZ type {type} does not match bitmap format {bitmap.Format}.", nameof(options));
        }

        long packedStride = LzFormat.IsPalette(type)
            ? SpiceBitmapFormats.MinStride(bitmap.Format, bitmap.Width)
            : (long)bitmap.Width * LzFormat.BytesPerPixel(type);
        long packedSize = packedStride * bitmap.Height;
        if ((ulong)packedSize > 1024 * 1024 * 1024 - 1)
        {
            throw new ArgumentException("Image too large for LZ.", nameof(bitmap));
        }

        int stride = bitmap.Stride;
        byte[]? packed = null;
        int[] hashTable = ArrayPool<int>.Shared.Rent(LzCompressor.HashSize);
        try
        {
            ReadOnlySpan<byte> data = pixels;
            if (!LzFormat.IsValidStride(type, bitmap.Width, stride))
            {
                // The LZ header carries the stride and the C decoder insists on packed rows: pack them.
                packed = ArrayPool<byte>.Shared.Rent((int)packedSize);
                for (int y = 0; y < bitmap.Height; y++)
                {
                    pixels.Slice(y * stride, (int)packedStride).CopyTo(packed.AsSpan(y * (int)packedStride));
                }

                stride = (int)packedStride;
                data = packed.AsSpan(0, (int)packedSize);
            }
            else
            {
                data = pixels[..(stride * bitmap.Height)];
            }

            var w = new LzWriter(destination);
            w.Put32BE(LzHeader.Magic);
            w.Put32BE(LzHeader.Version);
            w.Put32BE((uint)type);
            w.Put32BE((uint)bitmap.Width);
            w.Put32BE((uint)bitmap.Height);
            w.Put32BE((uint)stride);
            w.Put32BE(bitmap.TopDown ? 1u : 0u);

            ref byte src = ref MemoryMarshal.GetReference(data);
            int units = LzFormat.IsPalette(type) ? data.Length : bitmap.Width * bitmap.Height;
            Span<int> htab = hashTable;
            switch (type)
            {
                case LzImageType.Rgb16:
                    LzCompressor.Compress<LzRgb16Pixel>(ref w, ref src, units, htab);
                    break;
                case LzImageType.Rgb24:
                    LzCompressor.Compress<LzRgb24Pixel>(ref w, ref src, units, htab);
                    break;
                case LzImageType.Rgb32:
                    LzCompressor.Compress<LzRgb32Pixel>(ref w, ref src, units, htab);
                    break;
                case LzImageType.Rgba:
                    LzCompressor.Compress<LzRgb32Pixel>(ref w, ref src, units, htab);
                    LzCompressor.Compress<LzAlphaPixel>(ref w, ref src, units, htab);
                    break;
                case LzImageType.Xxxa:
                    LzCompressor.Compress<LzAlphaPixel>(ref w, ref src, units, htab);
                    break;
                default:
                    LzCompressor.Compress<LzBytePixel>(ref w, ref src, units, htab);
                    break;
            }

            if (w.Overflow)
            {
                written = 0;
                return OperationStatus.DestinationTooSmall;
            }

            written = w.Position;
            return OperationStatus.Done;
        }
        finally
        {
            ArrayPool<int>.Shared.Return(hashTable);
            if (packed != null)
            {
                ArrayPool<byte>.Shared.Return(packed);
            }
        }
    }
}
