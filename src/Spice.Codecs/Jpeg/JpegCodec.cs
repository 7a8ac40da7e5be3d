namespace Spice.Codecs.Jpeg;

/// <summary>Options for JPEG encoding.</summary>
public sealed class JpegEncoderOptions
{
    public static JpegEncoderOptions Default { get; } = new();

    /// <summary>1–100; spice-server uses 85.</summary>
    public int Quality { get; init; } = 85;
}

/// <summary>
/// SPICE JPEG images through libturbojpeg: baseline JFIF, YCbCr 4:2:0, top-down rows (bottom-up bitmaps are flipped).
/// Decoding writes BGRX. Lossy: a client stores these as lossy cache entries.
/// </summary>
public static class JpegCodec
{
    /// <summary>True when the native library is present (Debian package libturbojpeg0).</summary>
    public static bool IsSupported => TurboJpegNative.IsAvailable;

    public static int GetMaxEncodedLength(int width, int height) =>
        (int)Math.Min(Array.MaxLength, (long)TurboJpegNative.BufSize(width, height, TurboJpegNative.Subsampling420));

    /// <summary>Encodes a 32-bit (BGRX or BGRA, alpha ignored) bitmap.</summary>
    public static unsafe OperationStatus Encode(ReadOnlySpan<byte> pixels, in BitmapDescriptor bitmap, Span<byte> destination, out int written,
        JpegEncoderOptions? options = null)
    {
        bitmap.Validate(pixels.Length, nameof(bitmap));
        if (bitmap.Format is not (SpiceBitmapFormat.ThirtyTwoBit or SpiceBitmapFormat.Rgba))
        {
            throw new ArgumentException("JPEG encoding takes 32-bit bitmaps.", nameof(bitmap));
        }

        options ??= JpegEncoderOptions.Default;
        ArgumentOutOfRangeException.ThrowIfLessThan(options.Quality, 1, nameof(options));
        ArgumentOutOfRangeException.ThrowIfGreaterThan(options.Quality, 100, nameof(options));
        written = 0;
        nint handle = TurboJpegNative.Compressor;
        int flags = bitmap.TopDown ? 0 : TurboJpegNative.FlagBottomUp;
        nuint bound = TurboJpegNative.BufSize(bitmap.Width, bitmap.Height, TurboJpegNative.Subsampling420);
        fixed (byte* src = pixels)
        fixed (byte* dst = destination)
        {
            if ((ulong)destination.Length >= bound)
            {
                nint buf = (nint)dst;
                nuint size = (nuint)destination.Length;
                if (TurboJpegNative.Compress2(handle, src, bitmap.Width, bitmap.Stride, bitmap.Height, TurboJpegNative.PixelFormatBgrx,
                    ref buf, ref size, TurboJpegNative.Subsampling420, options.Quality, flags | TurboJpegNative.FlagNoRealloc) != 0)
                {
                    TurboJpegNative.DiscardCompressor();
                    throw new InvalidOperationException("tjCompress2 failed.");
                }

                written = (int)size;
                return OperationStatus.Done;
            }

            nint owned = 0;
            nuint ownedSize = 0;
            try
            {
                if (TurboJpegNative.Compress2(handle, src, bitmap.Width, bitmap.Stride, bitmap.Height, TurboJpegNative.PixelFormatBgrx,
                    ref owned, ref ownedSize, TurboJpegNative.Subsampling420, options.Quality, flags) != 0)
                {
                    TurboJpegNative.DiscardCompressor();
                    throw new InvalidOperationException("tjCompress2 failed.");
                }

                if (ownedSize > (nuint)destination.Length)
                {
                    return OperationStatus.DestinationTooSmall;
                }

                new ReadOnlySpan<byte>((void*)owned, (int)ownedSize).CopyTo(destination);
                written = (int)ownedSize;
                return OperationStatus.Done;
            }
            finally
            {
                if (owned != 0)
                {
                    TurboJpegNative.Free(owned);
                }
            }
        }
    }

    /// <summary>Reads the JPEG's dimensions; InvalidData for anything libjpeg cannot parse or that exceeds the limits.</summary>
    public static unsafe OperationStatus TryReadSize(ReadOnlySpan<byte> jpeg, out int width, out int height, CodecLimits? limits = null)
    {
        limits ??= CodecLimits.Default;
        width = height = 0;
        if (jpeg.Length < 4 || jpeg[0] != 0xFF || jpeg[1] != 0xD8)
        {
            return OperationStatus.InvalidData;
        }

        fixed (byte* src = jpeg)
        {
            if (TurboJpegNative.DecompressHeader3(TurboJpegNative.Decompressor, src, (nuint)jpeg.Length, out width, out height, out _, out _) != 0)
            {
                TurboJpegNative.DiscardDecompressor();
                return OperationStatus.InvalidData;
            }

            if (!limits.Allows(width, height, 4))
            {
                return OperationStatus.InvalidData;
            }
        }

        return OperationStatus.Done;
    }

    /// <summary>
    /// Decodes to BGRX (top-down). <paramref name="expectedWidth"/>/<paramref name="expectedHeight"/> are the image
    /// descriptor's; SPICE requires them to match the JPEG.
    /// </summary>
    public static unsafe OperationStatus Decode(ReadOnlySpan<byte> jpeg, int expectedWidth, int expectedHeight, Span<byte> destination, int destinationStride,
        CodecLimits? limits = null)
    {
        OperationStatus status = TryReadSize(jpeg, out int width, out int height, limits);
        if (status != OperationStatus.Done || width != expectedWidth || height != expectedHeight)
        {
            return OperationStatus.InvalidData;
        }

        ArgumentOutOfRangeException.ThrowIfLessThan(destinationStride, width * 4);
        if (destination.Length < (long)destinationStride * (height - 1) + width * 4)
        {
            return OperationStatus.DestinationTooSmall;
        }

        fixed (byte* src = jpeg)
        fixed (byte* dst = destination)
        {
            if (TurboJpegNative.Decompress2(TurboJpegNative.Decompressor, src, (nuint)jpeg.Length, dst, width, destinationStride, height,
                TurboJpegNative.PixelFormatBgrx, 0) != 0)
            {
                TurboJpegNative.DiscardDecompressor();
                return OperationStatus.InvalidData;
            }

            return OperationStatus.Done;
        }
    }
}
