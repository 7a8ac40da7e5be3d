using Spice.Codecs.Lz;

namespace Spice.Codecs.Jpeg;

/// <summary>
/// JPEG_ALPHA (type 108) data: the JPEG of the RGB (top-down) followed by an LZ XXXA stream of the alpha bytes
/// (rows in memory order, its header's top_down = the image's TOP_DOWN flag). The SPICE payload around it is
/// <c>u8 flags (bit0 TOP_DOWN), u32 jpeg_size, u32 data_size</c>.
/// </summary>
public static class JpegAlphaCodec
{
    public static int GetMaxEncodedLength(int width, int height) =>
        JpegCodec.GetMaxEncodedLength(width, height) + LzEncoder.GetMaxEncodedLength(width, height, LzImageType.Xxxa);

    /// <summary>Encodes an RGBA bitmap; <paramref name="jpegSize"/> is the length of the JPEG part of the data.</summary>
    public static OperationStatus Encode(ReadOnlySpan<byte> pixels, in BitmapDescriptor bitmap, Span<byte> destination, out int written, out int jpegSize,
        JpegEncoderOptions? options = null)
    {
        written = jpegSize = 0;
        OperationStatus status = JpegCodec.Encode(pixels, bitmap, destination, out int jpeg, options);
        if (status != OperationStatus.Done)
        {
            return status;
        }

        status = LzEncoder.Encode(pixels, bitmap, destination[jpeg..], out int alpha, new LzEncoderOptions { Type = LzImageType.Xxxa });
        if (status != OperationStatus.Done)
        {
            return status;
        }

        jpegSize = jpeg;
        written = jpeg + alpha;
        return OperationStatus.Done;
    }

    /// <summary>Decodes to BGRA, top-down.</summary>
    public static OperationStatus Decode(ReadOnlySpan<byte> data, int jpegSize, int width, int height, Span<byte> destination, int destinationStride,
        CodecLimits? limits = null)
    {
        if (jpegSize <= 0 || jpegSize > data.Length)
        {
            return OperationStatus.InvalidData;
        }

        OperationStatus status = JpegCodec.Decode(data[..jpegSize], width, height, destination, destinationStride, limits);
        if (status != OperationStatus.Done)
        {
            return status;
        }

        ReadOnlySpan<byte> lz = data[jpegSize..];
        status = LzDecoder.TryReadHeader(lz, out LzHeader header, limits);
        if (status != OperationStatus.Done || header.Type != LzImageType.Xxxa || header.Width != width || header.Height != height)
        {
            return OperationStatus.InvalidData;
        }

        return LzDecoder.Decode(lz, destination, destinationStride, out _, options: new LzDecoderOptions { Limits = limits ?? CodecLimits.Default });
    }
}
