using System.Buffers.Binary;
using Spice.Codecs.Glz;
using Spice.Codecs.Jpeg;
using Spice.Codecs.Lz;
using Spice.Codecs.Lz4;
using Spice.Codecs.QuicImage;

namespace Spice.Codecs;

/// <summary>Options for <see cref="SpiceImageEncoder"/>.</summary>
public sealed class SpiceImageEncoderOptions
{
    public static SpiceImageEncoderOptions Default { get; } = new();

    /// <summary>JPEG quality for JPEG and JPEG_ALPHA (spice-server: 85).</summary>
    public int JpegQuality { get; init; } = 85;

    /// <summary>
    /// For GLZ: wrap the stream in zlib (ZLIB_GLZ_RGB) when the GLZ output is at least 100 bytes and zlib makes it
    /// smaller, as spice-server does on low-bandwidth links.
    /// </summary>
    public bool ZlibWrapGlz { get; init; }
}

/// <summary>
/// Writes the payload that follows a SPICE ImageDescriptor for QUIC, LZ_RGB, GLZ_RGB/ZLIB_GLZ_RGB, JPEG, JPEG_ALPHA and
/// LZ4 (the inverse of <see cref="SpiceImageDecoder"/>). Multi-byte payload fields are little-endian.
/// </summary>
public static class SpiceImageEncoder
{
    private const int ZlibMinimum = 100;

    /// <summary>Worst-case payload size for one image.</summary>
    public static int GetMaxPayloadLength(SpiceImageType type, int width, int height, SpiceBitmapFormat format)
    {
        long max = type switch
        {
            SpiceImageType.Quic => 4L + QuicImageEncoder.GetMaxEncodedLength(width, height, QuicImageEncoder.TypeFor(format)),
            SpiceImageType.LzRgb => 4L + LzEncoder.GetMaxEncodedLength(width, height, LzFormat.FromBitmapFormat(format)),
            SpiceImageType.GlzRgb or SpiceImageType.ZlibGlzRgb =>
                8L + ZlibGlzCodec.GetMaxEncodedLength(GlzEncoderDictionary.GetMaxEncodedLength(width, height, LzFormat.FromBitmapFormat(format))),
            SpiceImageType.Jpeg => 4L + JpegCodec.GetMaxEncodedLength(width, height),
            SpiceImageType.JpegAlpha => 9L + JpegAlphaCodec.GetMaxEncodedLength(width, height),
            SpiceImageType.Lz4 => 4L + Lz4ImageCodec.GetMaxEncodedLength(width, height, format),
            _ => throw new ArgumentOutOfRangeException(nameof(type), type, "Not an encodable compressed image type."),
        };
        return max > Array.MaxLength ? throw new ArgumentOutOfRangeException(nameof(width), "Image too large.") : (int)max;
    }

    /// <summary>
    /// Encodes <paramref name="pixels"/> as <paramref name="type"/>. <paramref name="actualType"/> is the type to put in
    /// the descriptor (GLZ_RGB may become ZLIB_GLZ_RGB with <see cref="SpiceImageEncoderOptions.ZlibWrapGlz"/>).
    /// For GLZ the destination must hold <see cref="GetMaxPayloadLength"/> (checked first), so a dictionary id is never
    /// spent on an image that is not written.
    /// </summary>
    public static OperationStatus Encode(SpiceImageType type, ReadOnlySpan<byte> pixels, in BitmapDescriptor bitmap, Span<byte> destination,
        out int written, out SpiceImageType actualType, GlzEncoderDictionary? glzDictionary = null, SpiceImageEncoderOptions? options = null)
    {
        options ??= SpiceImageEncoderOptions.Default;
        written = 0;
        actualType = type;
        int prefix = type == SpiceImageType.JpegAlpha ? 9 : 4;
        if (destination.Length < prefix)
        {
            return OperationStatus.DestinationTooSmall;
        }

        Span<byte> body = destination[prefix..];
        OperationStatus status;
        int n;
        switch (type)
        {
            case SpiceImageType.Quic:
                status = QuicImageEncoder.Encode(pixels, bitmap, body, out n);
                break;
            case SpiceImageType.LzRgb:
                status = LzEncoder.Encode(pixels, bitmap, body, out n);
                break;
            case SpiceImageType.Jpeg:
                status = JpegCodec.Encode(pixels, bitmap, body, out n, new JpegEncoderOptions { Quality = options.JpegQuality });
                break;
            case SpiceImageType.Lz4:
                status = Lz4ImageCodec.Encode(pixels, bitmap, body, out n);
                break;
            case SpiceImageType.JpegAlpha:
                status = JpegAlphaCodec.Encode(pixels, bitmap, body, out n, out int jpegSize, new JpegEncoderOptions { Quality = options.JpegQuality });
                if (status == OperationStatus.Done)
                {
                    destination[0] = bitmap.TopDown ? (byte)1 : (byte)0;
                    BinaryPrimitives.WriteUInt32LittleEndian(destination[1..], (uint)jpegSize);
                }

                break;
            case SpiceImageType.GlzRgb:
            case SpiceImageType.ZlibGlzRgb:
                return EncodeGlz(pixels, bitmap, destination, out written, out actualType,
                    glzDictionary ?? throw new ArgumentNullException(nameof(glzDictionary)), options.ZlibWrapGlz || type == SpiceImageType.ZlibGlzRgb);
            default:
                throw new ArgumentOutOfRangeException(nameof(type), type, "Not an encodable compressed image type.");
        }

        if (status != OperationStatus.Done)
        {
            return status;
        }

        BinaryPrimitives.WriteUInt32LittleEndian(destination[(prefix - 4)..], (uint)n);
        written = prefix + n;
        return OperationStatus.Done;
    }

    private static OperationStatus EncodeGlz(ReadOnlySpan<byte> pixels, in BitmapDescriptor bitmap, Span<byte> destination, out int written,
        out SpiceImageType actualType, GlzEncoderDictionary dictionary, bool tryZlib)
    {
        written = 0;
        actualType = SpiceImageType.GlzRgb;
        int max = GlzEncoderDictionary.GetMaxEncodedLength(bitmap.Width, bitmap.Height, LzFormat.FromBitmapFormat(bitmap.Format));
        if (destination.Length < 4 + max)
        {
            // Checked before encoding: once the dictionary holds the image, the client must receive it.
            return OperationStatus.DestinationTooSmall;
        }

        byte[] glz = ArrayPool<byte>.Shared.Rent(max);
        byte[]? zlib = null;
        try
        {
            // Encode into scratch first: the GLZ id must only be consumed when the image will really be sent.
            OperationStatus status = dictionary.Encode(pixels, bitmap, glz, out int n, out _);
            if (status != OperationStatus.Done)
            {
                return status;
            }

            if (tryZlib && n >= ZlibMinimum)
            {
                zlib = ArrayPool<byte>.Shared.Rent(ZlibGlzCodec.GetMaxEncodedLength(n));
                if (ZlibGlzCodec.Compress(glz.AsSpan(0, n), zlib, out int z) == OperationStatus.Done && z < n && destination.Length >= 8 + z)
                {
                    BinaryPrimitives.WriteUInt32LittleEndian(destination, (uint)n);
                    BinaryPrimitives.WriteUInt32LittleEndian(destination[4..], (uint)z);
                    zlib.AsSpan(0, z).CopyTo(destination[8..]);
                    written = 8 + z;
                    actualType = SpiceImageType.ZlibGlzRgb;
                    return OperationStatus.Done;
                }
            }

            BinaryPrimitives.WriteUInt32LittleEndian(destination, (uint)n);
            glz.AsSpan(0, n).CopyTo(destination[4..]);
            written = 4 + n;
            return OperationStatus.Done;
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(glz);
            if (zlib != null)
            {
                ArrayPool<byte>.Shared.Return(zlib);
            }
        }
    }
}
