using System.Buffers.Binary;
using Spice.Codecs.Bitmap;
using Spice.Codecs.Glz;
using Spice.Codecs.Jpeg;
using Spice.Codecs.Lz;
using Spice.Codecs.Lz4;
using Spice.Codecs.QuicImage;

namespace Spice.Codecs;

/// <summary>
/// Decodes the payload that follows a SPICE ImageDescriptor (brief §4.3) for the compressed image types whose payload is
/// self-contained: QUIC, LZ_RGB, GLZ_RGB, ZLIB_GLZ_RGB, JPEG, JPEG_ALPHA and LZ4. The output is top-down BGRX (BGRA for
/// images with alpha). BITMAP and LZ_PLT carry palette pointers that only the message parser can resolve: decode those
/// with <see cref="BitmapDecoder"/> and <see cref="LzDecoder"/>. Multi-byte payload fields are little-endian.
/// Like spice-gtk, the stream's dimensions must equal the descriptor's.
/// </summary>
public static class SpiceImageDecoder
{
    /// <summary>True for the types <see cref="Decode"/> handles.</summary>
    public static bool Supports(SpiceImageType type) => type is SpiceImageType.Quic or SpiceImageType.LzRgb or SpiceImageType.GlzRgb
        or SpiceImageType.ZlibGlzRgb or SpiceImageType.Jpeg or SpiceImageType.JpegAlpha or SpiceImageType.Lz4;

    /// <param name="type">The descriptor's type.</param>
    /// <param name="payload">The bytes after the 18-byte descriptor (at least this image's payload).</param>
    /// <param name="width">The descriptor's width.</param>
    /// <param name="height">The descriptor's height.</param>
    /// <param name="destination">Top-down 32-bit output.</param>
    /// <param name="destinationStride">Bytes between output rows (≥ width × 4).</param>
    /// <param name="glzWindow">The session's GLZ window (required for GLZ_RGB and ZLIB_GLZ_RGB).</param>
    /// <param name="consumed">Payload bytes this image used.</param>
    /// <param name="limits">Size caps, checked before allocating.</param>
    public static OperationStatus Decode(SpiceImageType type, ReadOnlySpan<byte> payload, int width, int height, Span<byte> destination,
        int destinationStride, GlzDecoderWindow? glzWindow, out int consumed, CodecLimits? limits = null)
    {
        if (!Supports(type))
        {
            throw new ArgumentOutOfRangeException(nameof(type), type, "Not a self-contained compressed image type.");
        }

        limits ??= CodecLimits.Default;
        consumed = 0;
        if (!limits.Allows(width, height, 4))
        {
            return OperationStatus.InvalidData;
        }

        ArgumentOutOfRangeException.ThrowIfLessThan(destinationStride, width * 4);
        if (destination.Length < (long)destinationStride * (height - 1) + width * 4)
        {
            return OperationStatus.DestinationTooSmall;
        }

        int fixedSize = type switch
        {
            SpiceImageType.ZlibGlzRgb => 8,
            SpiceImageType.JpegAlpha => 9,
            _ => 4,
        };
        if (payload.Length < fixedSize)
        {
            return OperationStatus.InvalidData;
        }

        uint dataSize = BinaryPrimitives.ReadUInt32LittleEndian(payload[(fixedSize - 4)..]);
        if (dataSize > (uint)(payload.Length - fixedSize))
        {
            return OperationStatus.InvalidData;
        }

        ReadOnlySpan<byte> data = payload.Slice(fixedSize, (int)dataSize);
        OperationStatus status = type switch
        {
            SpiceImageType.Quic => DecodeQuic(data, width, height, destination, destinationStride, limits),
            SpiceImageType.LzRgb => DecodeLz(data, width, height, destination, destinationStride, limits),
            SpiceImageType.GlzRgb => DecodeGlz(data, width, height, destination, destinationStride,
                glzWindow ?? throw new ArgumentNullException(nameof(glzWindow))),
            SpiceImageType.ZlibGlzRgb => DecodeZlibGlz(BinaryPrimitives.ReadUInt32LittleEndian(payload), data, width, height, destination, destinationStride,
                glzWindow ?? throw new ArgumentNullException(nameof(glzWindow)), limits),
            SpiceImageType.Jpeg => JpegCodec.Decode(data, width, height, destination, destinationStride, limits),
            SpiceImageType.JpegAlpha => JpegAlphaCodec.Decode(data, (int)Math.Min(int.MaxValue, BinaryPrimitives.ReadUInt32LittleEndian(payload[1..])),
                width, height, destination, destinationStride, limits),
            _ => DecodeLz4(data, width, height, destination, destinationStride, limits),
        };
        if (status == OperationStatus.Done)
        {
            consumed = fixedSize + (int)dataSize;
        }

        return status;
    }

    private static OperationStatus DecodeQuic(ReadOnlySpan<byte> data, int width, int height, Span<byte> destination, int stride, CodecLimits limits)
    {
        OperationStatus status = QuicImageDecoder.TryReadHeader(data, out QuicHeader header, limits);
        if (status != OperationStatus.Done || header.Width != width || header.Height != height || header.Type == QuicImageType.Gray)
        {
            return OperationStatus.InvalidData;
        }

        return QuicImageDecoder.Decode(data, destination, stride, out _, new QuicDecoderOptions { Limits = limits });
    }

    private static OperationStatus DecodeLz(ReadOnlySpan<byte> data, int width, int height, Span<byte> destination, int stride, CodecLimits limits)
    {
        OperationStatus status = LzDecoder.TryReadHeader(data, out LzHeader header, limits);
        if (status != OperationStatus.Done || header.Width != width || header.Height != height || LzFormat.IsPalette(header.Type))
        {
            return OperationStatus.InvalidData;
        }

        return LzDecoder.Decode(data, destination, stride, out _, options: new LzDecoderOptions { Limits = limits });
    }

    private static OperationStatus DecodeGlz(ReadOnlySpan<byte> data, int width, int height, Span<byte> destination, int stride, GlzDecoderWindow window)
    {
        if (data.Length < GlzHeader.Size
            || BinaryPrimitives.ReadUInt32BigEndian(data[9..]) != (uint)width || BinaryPrimitives.ReadUInt32BigEndian(data[13..]) != (uint)height)
        {
            return OperationStatus.InvalidData;
        }

        return window.Decode(data, destination, stride, out _);
    }

    private static OperationStatus DecodeZlibGlz(uint glzSize, ReadOnlySpan<byte> zlib, int width, int height, Span<byte> destination, int stride,
        GlzDecoderWindow window, CodecLimits limits)
    {
        if (glzSize < GlzHeader.Size || glzSize > limits.MaxOutputBytes + 1024)
        {
            return OperationStatus.InvalidData;
        }

        byte[] glz = ArrayPool<byte>.Shared.Rent((int)glzSize);
        try
        {
            OperationStatus status = ZlibGlzCodec.Decompress(zlib, (int)glzSize, glz, out int n, limits);
            return status != OperationStatus.Done ? OperationStatus.InvalidData : DecodeGlz(glz.AsSpan(0, n), width, height, destination, stride, window);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(glz);
        }
    }

    private static OperationStatus DecodeLz4(ReadOnlySpan<byte> data, int width, int height, Span<byte> destination, int stride, CodecLimits limits)
    {
        OperationStatus status = Lz4ImageCodec.TryReadHeader(data, out Lz4ImageHeader header);
        if (status != OperationStatus.Done)
        {
            return status;
        }

        int bpp = Lz4ImageCodec.BytesPerPixel(header.Format);
        if (bpp == 4)
        {
            return Lz4ImageCodec.Decode(data, width, height, destination, stride, out _, limits: limits);
        }

        int rowBytes = width * bpp;
        byte[] native = ArrayPool<byte>.Shared.Rent(rowBytes * height);
        try
        {
            status = Lz4ImageCodec.Decode(data, width, height, native, rowBytes, out _, limits: limits);
            return status != OperationStatus.Done
                ? status
                : BitmapDecoder.Decode(native.AsSpan(0, rowBytes * height), new BitmapDescriptor(width, height, rowBytes, header.Format), destination, stride,
                    limits: limits);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(native);
        }
    }
}
