using System.Buffers;
using System.Buffers.Binary;
using System.Diagnostics;
using System.Runtime.InteropServices;
using Accel.Core.Spice.Protocol.Framing;
using Accel.Core.Diagnostics;
using Spice.Codecs;
using Spice.Codecs.Bitmap;
using Spice.Codecs.Glz;
using Spice.Codecs.Lz;
using Spice.Codecs.Lz4;
using Spice.Codecs.QuicImage;
using Accel.Core.Spice.Protocol;

namespace Accel.Core.Spice.Display;

/// <summary>
/// Re-encodes the images of server → client draw messages on one display channel, at the server edge.
/// <para>Rules (brief §4.3, §4.4):</para>
/// <list type="bullet">
/// <item>BITMAP (RGB formats), QUIC, LZ_RGB, GLZ_RGB, ZLIB_GLZ_RGB and LZ4 images are decoded and re-encoded with the
/// configured codec under the same id and flags; JPEG/JPEG_ALPHA (already lossy, and the server tracks them as lossy),
/// LZ_PLT and palette bitmaps, FROM_CACHE, FROM_CACHE_LOSSLESS and SURFACE pass through unchanged.</item>
/// <item>JPEG is only produced for images the client will not cache (no CACHE_ME, no CACHE_REPLACE_ME): the server
/// believes what it sent is lossless and may later ask for it with FROM_CACHE_LOSSLESS, so a lossy copy must never
/// enter the client's cache. References pass through unchanged.</item>
/// <item>Every GLZ image from the server is decoded in a window kept in step with the server's dictionary, and always
/// re-sent in another form: the client's GLZ window only ever sees this edge's GLZ stream (one dictionary per display
/// channel; spice-gtk shares one window per session, so this is correct with one display channel, as Xspice has).</item>
/// <item>Otherwise a re-encoded image that is not smaller than the original is not used (except for GLZ, above).</item>
/// </list>
/// Messages this class does not understand are passed through unchanged by the caller.
/// </summary>
internal sealed class DisplayTranscoder : IDisposable
{
    private readonly DisplayCodec _codec;
    private readonly int _maxMessage;
    private readonly GlzDecoderWindow _serverWindow = new();
    private readonly GlzEncoderDictionary _clientDictionary = new();
    private readonly ArrayBufferWriter<byte> _payloads = new(64 * 1024);

    // Largest image decoded (64 MiB of BGRX, more than a 4K screen): a descriptor is not allowed to make the edge
    // allocate more than that for a few bytes of payload.
    private const long MaxPixels = 16L * 1024 * 1024;

    private readonly bool _keepSmallerOriginal;

    public DisplayTranscoder(DisplayCodec codec, int maxMessage, bool keepSmallerOriginal = true)
    {
        if (codec == DisplayCodec.Off)
        {
            throw new ArgumentOutOfRangeException(nameof(codec), "Off needs no transcoder.");
        }

        _codec = codec;
        _maxMessage = maxMessage;
        _keepSmallerOriginal = keepSmallerOriginal;
    }

    /// <summary>Images re-encoded so far.</summary>
    public long ImagesReencoded { get; private set; }

    /// <summary>Payload bytes of the images this transcoder replaced, before and after.</summary>
    public long BytesIn { get; private set; }

    public long BytesOut { get; private set; }

    /// <summary>Whether a server message must be read whole and given to <see cref="Transcode"/>.</summary>
    public bool Wants(ushort type, uint size) => size <= (uint)_maxMessage && DisplayDrawMessage.IsDrawWithImages(type);

    /// <summary>
    /// Writes the message (mini header and body) to <paramref name="output"/>: re-encoded, or unchanged when there is
    /// nothing to do. Returns the bytes written.
    /// </summary>
    public long Transcode(ushort type, in ReadOnlySequence<byte> body, IBufferWriter<byte> output)
    {
        using var contiguous = new ContiguousBody(body);
        return Transcode(type, contiguous.Span, output);
    }

    public long Transcode(ushort type, ReadOnlySpan<byte> body, IBufferWriter<byte> output)
    {
        if (!DisplayDrawMessage.TryParse(type, body, out var message))
        {
            return WriteOriginal(type, body, output);
        }

        Span<DisplayImageReplacement> replacements = stackalloc DisplayImageReplacement[DisplayImageRefs.MaxImages];
        _payloads.ResetWrittenCount();
        bool any = false;
        for (int i = 0; i < message.Count; i++)
        {
            replacements[i] = Reencode(in message, message[i], body);
            any |= replacements[i].Replaced;
        }

        if (!any)
        {
            return WriteOriginal(type, body, output);
        }

        long size = message.GetWrittenLength(replacements[..message.Count]);
        WriteHeader(type, (uint)size, output);
        message.Write(body, replacements[..message.Count], _payloads.WrittenSpan, output);
        return 6 + size;
    }

    public void Dispose()
    {
        _serverWindow.Dispose();
        _clientDictionary.Dispose();
    }

    private static long WriteOriginal(ushort type, ReadOnlySpan<byte> body, IBufferWriter<byte> output)
    {
        WriteHeader(type, (uint)body.Length, output);
        output.Write(body);
        return 6 + body.Length;
    }

    private static void WriteHeader(ushort type, uint size, IBufferWriter<byte> output)
    {
        var header = output.GetSpan(6);
        BinaryPrimitives.WriteUInt16LittleEndian(header, type);
        BinaryPrimitives.WriteUInt32LittleEndian(header[2..], size);
        output.Advance(6);
    }

    private DisplayImageReplacement Reencode(in DisplayDrawMessage message, DisplayImageRef image, ReadOnlySpan<byte> body)
    {
        if (image.Role >= DisplayImageRole.Path)
        {
            return DisplayImageReplacement.Keep;
        }

        var descriptor = image.Descriptor;
        var type = descriptor.Type;
        bool fromGlz = type is SpiceImageType.GlzRgb or SpiceImageType.ZlibGlzRgb;
        if (!(fromGlz || type is SpiceImageType.Quic or SpiceImageType.LzRgb or SpiceImageType.Lz4 or SpiceImageType.Bitmap))
        {
            return DisplayImageReplacement.Keep;
        }

        int width = (int)Math.Min(descriptor.Width, int.MaxValue);
        int height = (int)Math.Min(descriptor.Height, int.MaxValue);
        if (!CodecLimits.Default.Allows(width, height, 4) || width == 0 || height == 0 || (long)width * height > MaxPixels)
        {
            if (fromGlz)
            {
                SpiceThrow.Protocol(SpiceProtocolError.InvalidValue, $"a GLZ image of {descriptor.Width}x{descriptor.Height} cannot be decoded");
            }

            return DisplayImageReplacement.Keep;
        }

        var payload = body.Slice(image.PayloadOffset, image.PayloadLength);
        int pixelsLength = width * height * 4;
        byte[] pixels = ArrayPool<byte>.Shared.Rent(pixelsLength);
        try
        {
            if (!TryDecode(type, payload, width, height, pixels, out bool alpha))
            {
                if (fromGlz)
                {
                    // The server's dictionary and our window are out of step: the client could only be given garbage.
                    SpiceThrow.Protocol(SpiceProtocolError.InvalidValue, $"GLZ image {descriptor.Id} does not decode against the server's window");
                }

                return DisplayImageReplacement.Keep;
            }

            var target = ChooseCodec(in message, image, pixels.AsSpan(0, pixelsLength), width, height, alpha);
            var bitmap = new BitmapDescriptor(width, height, width * 4, alpha ? SpiceBitmapFormat.Rgba : SpiceBitmapFormat.ThirtyTwoBit);
            int start = _payloads.WrittenCount;
            if (!TryEncode(target, pixels.AsSpan(0, pixelsLength), bitmap, out int written, out var actual)
                && !TryEncode(SpiceImageType.Lz4, pixels.AsSpan(0, pixelsLength), bitmap, out written, out actual))
            {
                actual = SpiceImageType.Bitmap;
                written = WriteBitmap(pixels.AsSpan(0, pixelsLength), bitmap);
            }

            if (_keepSmallerOriginal && !fromGlz && actual != SpiceImageType.GlzRgb && actual != SpiceImageType.ZlibGlzRgb && written >= image.PayloadLength)
            {
                AccelMetrics.DisplayImages.Add(1, AccelMetrics.Tags("codec", "kept"));
                return DisplayImageReplacement.Keep;
            }

            ImagesReencoded++;
            BytesIn += image.PayloadLength;
            BytesOut += written;
            var tags = AccelMetrics.Tags("codec", Label(actual));
            AccelMetrics.DisplayImages.Add(1, tags);
            AccelMetrics.DisplayBytesIn.Add(image.PayloadLength, tags);
            AccelMetrics.DisplayBytesOut.Add(written, tags);
            return new DisplayImageReplacement(true, descriptor with { Type = actual }, start, written);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(pixels);
        }
    }

    private bool TryDecode(SpiceImageType type, ReadOnlySpan<byte> payload, int width, int height, Span<byte> pixels, out bool alpha)
    {
        alpha = false;
        if (type == SpiceImageType.Bitmap)
        {
            // u8 format, u8 flags, u32 width, u32 height, u32 stride, ptr/u64 palette, data (the parser checked the sizes).
            var format = (SpiceBitmapFormat)payload[0];
            if (format is not (SpiceBitmapFormat.SixteenBit or SpiceBitmapFormat.TwentyFourBit or SpiceBitmapFormat.ThirtyTwoBit or SpiceBitmapFormat.Rgba)
                || BinaryPrimitives.ReadUInt32LittleEndian(payload[2..]) != (uint)width || BinaryPrimitives.ReadUInt32LittleEndian(payload[6..]) != (uint)height)
            {
                return false;
            }

            int stride = (int)Math.Min(BinaryPrimitives.ReadUInt32LittleEndian(payload[10..]), int.MaxValue);
            bool topDown = (payload[1] & 4) != 0;
            int dataOffset = 14 + ((payload[1] & 2) != 0 ? 8 : 4);
            alpha = format == SpiceBitmapFormat.Rgba;
            var bitmap = new BitmapDescriptor(width, height, stride, format, topDown);
            return BitmapDecoder.Decode(payload[dataOffset..], bitmap, pixels, width * 4) == OperationStatus.Done;
        }

        alpha = HasAlpha(type, payload);
        return SpiceImageDecoder.Decode(type, payload, width, height, pixels, width * 4, _serverWindow, out _) == OperationStatus.Done;
    }

    internal static bool HasAlpha(SpiceImageType type, ReadOnlySpan<byte> payload)
    {
        switch (type)
        {
            case SpiceImageType.Quic:
                return payload.Length >= 4 + QuicHeader.Size && QuicImageDecoder.TryReadHeader(payload[4..], out var q) == OperationStatus.Done
                    && q.Type == QuicImageType.Rgba;
            case SpiceImageType.LzRgb:
                return payload.Length >= 4 + LzHeader.Size && LzDecoder.TryReadHeader(payload[4..], out var l) == OperationStatus.Done
                    && l.Type == LzImageType.Rgba;
            case SpiceImageType.Lz4:
                return payload.Length >= 6 && Lz4ImageCodec.TryReadHeader(payload[4..], out var h) == OperationStatus.Done
                    && h.Format == SpiceBitmapFormat.Rgba;
            case SpiceImageType.GlzRgb:
                return payload.Length > 12 && (payload[12] & 0x0F) == (int)LzImageType.Rgba;
            default:
                // ZLIB_GLZ: the GLZ header is inside the deflate stream; its alpha is kept if the decoder wrote one.
                return false;
        }
    }

    private SpiceImageType ChooseCodec(in DisplayDrawMessage message, DisplayImageRef image, ReadOnlySpan<byte> pixels, int width, int height, bool alpha)
    {
        switch (_codec)
        {
            case DisplayCodec.Quic:
                return SpiceImageType.Quic;
            case DisplayCodec.Lz:
                return SpiceImageType.LzRgb;
            case DisplayCodec.Glz:
                return _clientDictionary.CanEncode(width, height) ? SpiceImageType.GlzRgb : SpiceImageType.LzRgb;
            case DisplayCodec.Lz4:
                return SpiceImageType.Lz4;
            case DisplayCodec.Jpeg when image.Role == DisplayImageRole.Source
                && (image.Descriptor.Flags & (SpiceImageDescriptor.CacheReplaceMe | SpiceImageDescriptor.CacheMe)) == 0
                && ((message.Type == DisplayDrawMessage.DrawCopy && message.Rop == DisplayDrawMessage.RopPut && !message.HasMask)
                    || message.Type == DisplayDrawMessage.DrawOpaque):
                // Xspice sends RGBA images for ordinary windows; like spice-server, those become JPEG_ALPHA.
                return alpha ? SpiceImageType.JpegAlpha : SpiceImageType.Jpeg;
            default:
                return IsPhotoLike(pixels, width, height) ? SpiceImageType.Quic : SpiceImageType.Lz4;
        }
    }

    /// <summary>Fewer than half of up to 4096 sampled horizontal neighbour pairs are equal.</summary>
    internal static bool IsPhotoLike(ReadOnlySpan<byte> pixels, int width, int height)
    {
        if (width < 2)
        {
            return false;
        }

        var p = MemoryMarshal.Cast<byte, uint>(pixels);
        long pairs = (long)(width - 1) * height;
        long step = Math.Max(1, pairs / 4096);
        int sampled = 0;
        int equal = 0;
        for (long k = 0; k < pairs; k += step)
        {
            int y = (int)(k / (width - 1));
            int x = (int)(k % (width - 1));
            int i = y * width + x;
            sampled++;
            if ((p[i] & 0xFFFFFF) == (p[i + 1] & 0xFFFFFF))
            {
                equal++;
            }
        }

        return equal * 2 < sampled;
    }

    private bool TryEncode(SpiceImageType type, ReadOnlySpan<byte> pixels, in BitmapDescriptor bitmap, out int written, out SpiceImageType actual)
    {
        int max = SpiceImageEncoder.GetMaxPayloadLength(type, bitmap.Width, bitmap.Height, bitmap.Format);
        var destination = _payloads.GetSpan(max);
        var status = SpiceImageEncoder.Encode(type, pixels, bitmap, destination, out written, out actual,
            type is SpiceImageType.GlzRgb ? _clientDictionary : null);
        if (status != OperationStatus.Done)
        {
            written = 0;
            return false;
        }

        _payloads.Advance(written);
        return true;
    }

    /// <summary>A top-down 32-bit BITMAP payload with no palette.</summary>
    private int WriteBitmap(ReadOnlySpan<byte> pixels, in BitmapDescriptor bitmap)
    {
        int n = 18 + pixels.Length;
        var s = _payloads.GetSpan(n);
        s[0] = (byte)bitmap.Format;
        s[1] = 4; // TOP_DOWN
        BinaryPrimitives.WriteUInt32LittleEndian(s[2..], (uint)bitmap.Width);
        BinaryPrimitives.WriteUInt32LittleEndian(s[6..], (uint)bitmap.Height);
        BinaryPrimitives.WriteUInt32LittleEndian(s[10..], (uint)bitmap.Stride);
        BinaryPrimitives.WriteUInt32LittleEndian(s[14..], 0);
        pixels.CopyTo(s[18..]);
        _payloads.Advance(n);
        return n;
    }

    private static string Label(SpiceImageType type) => type switch
    {
        SpiceImageType.Quic => "quic",
        SpiceImageType.LzRgb => "lz",
        SpiceImageType.GlzRgb => "glz",
        SpiceImageType.ZlibGlzRgb => "zlib_glz",
        SpiceImageType.Lz4 => "lz4",
        SpiceImageType.Jpeg => "jpeg",
        SpiceImageType.JpegAlpha => "jpeg_alpha",
        SpiceImageType.Bitmap => "bitmap",
        _ => "other",
    };
}
