using System.Buffers;
using System.Buffers.Binary;
using Spice.Codecs;
using Spice.Codecs.Bitmap;
using Spice.Codecs.Glz;
using Spice.Codecs.Jpeg;
using Spice.Codecs.Lz;
using Spice.Codecs.Lz4;
using Spice.Codecs.QuicImage;

namespace Accel.Fuzz.Targets;

/// <summary>
/// Every decoder in Spice.Codecs. Invalid data is a returned <see cref="OperationStatus"/>; every exception is a crash.
/// The limits are smaller than the product's (4 MiB of output) so that one input stays fast; the paths are the same.
/// </summary>
internal static class CodecTargets
{
    private static readonly CodecLimits s_limits = new() { MaxWidth = 4096, MaxHeight = 4096, MaxOutputBytes = 4L * 1024 * 1024 };
    private static readonly byte[] s_output = new byte[(4 * 1024 * 1024) + 64];
    private static readonly SpicePalette s_palette = new([0x000000, 0xFF0000, 0x00FF00, 0x0000FF, 0xFFFFFF, 0x808080, 0x123456, 0xABCDEF]);

    public static IEnumerable<FuzzTarget> All =>
    [
        new("quic", "QuicImageDecoder.Decode of a QUIC stream (header, then rows)", Quic, () => Streams(SpiceImageType.Quic, 4)),
        new("lz", "LzDecoder.Decode of an LZ stream, every LZ type (palette types with a palette)", Lz, LzSeeds),
        new("glz", "GlzDecoderWindow.Decode of a sequence of GLZ images (u16 length, stream) sharing one window", Glz, GlzSeeds),
        new("zlib-glz", "ZlibGlzCodec.Decompress (u32 GLZ size, zlib data), then the GLZ decoder", ZlibGlz, ZlibGlzSeeds),
        new("lz4", "Lz4ImageCodec.Decode (u16 width, u16 height, LZ4 image data)", Lz4, () => Sized(SpiceImageType.Lz4, 4)),
        new("jpeg", "JpegCodec.Decode through libturbojpeg (u16 width, u16 height, JPEG)", Jpeg, () => Sized(SpiceImageType.Jpeg, 4)),
        new("jpeg-alpha", "JpegAlphaCodec.Decode (u16 width, u16 height, u32 jpeg size, JPEG then LZ alpha)", JpegAlpha, () => Sized(SpiceImageType.JpegAlpha, 5)),
        new("bitmap", "BitmapDecoder.Decode of every bitmap format, either row order (u16 w, u16 h, u16 stride, u8 format, u8 flags, pixels)", Bitmap, BitmapSeeds),
        new("spice-image", "SpiceImageDecoder.Decode of an image payload (u8 type, u16 width, u16 height, payload)", SpiceImage, SpiceImageSeeds),
    ];

    private static void Quic(ReadOnlySpan<byte> input)
    {
        if (QuicImageDecoder.TryReadHeader(input, out var header, s_limits) == OperationStatus.Done)
        {
            int row = QuicImageDecoder.OutputRowBytes(header, toRgb32: true);
            QuicImageDecoder.Decode(input, s_output, row, out _, new QuicDecoderOptions { Limits = s_limits });
        }
    }

    private static void Lz(ReadOnlySpan<byte> input)
    {
        if (LzDecoder.TryReadHeader(input, out var header, s_limits) == OperationStatus.Done)
        {
            bool rgb32 = (header.Width & 1) == 0; // both output forms, chosen by the input
            int row = LzDecoder.OutputRowBytes(header, rgb32);
            LzDecoder.Decode(input, s_output, row, out _, s_palette, new LzDecoderOptions { Limits = s_limits, ToRgb32 = rgb32 });
        }
    }

    private static void Glz(ReadOnlySpan<byte> input)
    {
        using var window = new GlzDecoderWindow(new GlzDecoderOptions { Limits = s_limits, MaxWindowPixels = 1024 * 1024 });
        while (input.Length >= 2)
        {
            int length = Math.Min(FuzzInput.TakeU16(ref input), input.Length);
            var image = input[..length];
            input = input[length..];
            if (GlzHeader.TryRead(image, s_limits, out var header) == OperationStatus.Done)
            {
                window.Decode(image, s_output, header.Width * 4, out _);
            }
        }
    }

    private static void ZlibGlz(ReadOnlySpan<byte> input)
    {
        if (input.Length < 4)
        {
            return;
        }

        int size = (int)Math.Min(BinaryPrimitives.ReadUInt32LittleEndian(input), int.MaxValue);
        if (ZlibGlzCodec.Decompress(input[4..], size, s_output, out int n, s_limits) == OperationStatus.Done)
        {
            Glz([(byte)n, (byte)(n >> 8), .. s_output.AsSpan(0, Math.Min(n, ushort.MaxValue))]);
        }
    }

    private static void Lz4(ReadOnlySpan<byte> input)
    {
        int width = FuzzInput.TakeU16(ref input), height = FuzzInput.TakeU16(ref input);
        if (Lz4ImageCodec.TryReadHeader(input, out var header) == OperationStatus.Done && s_limits.Allows(width, height, 4))
        {
            int row = width * Lz4ImageCodec.BytesPerPixel(header.Format);
            Lz4ImageCodec.Decode(input, width, height, s_output, row + (width & 3), out _, flipToTopDown: (height & 1) == 0, limits: s_limits);
        }
    }

    private static void Jpeg(ReadOnlySpan<byte> input)
    {
        int width = FuzzInput.TakeU16(ref input), height = FuzzInput.TakeU16(ref input);
        if (s_limits.Allows(width, height, 4))
        {
            JpegCodec.Decode(input, width, height, s_output, width * 4, s_limits);
        }
    }

    private static void JpegAlpha(ReadOnlySpan<byte> input)
    {
        int width = FuzzInput.TakeU16(ref input), height = FuzzInput.TakeU16(ref input);
        if (input.Length >= 4 && s_limits.Allows(width, height, 4))
        {
            int jpegSize = (int)Math.Min(BinaryPrimitives.ReadUInt32LittleEndian(input), int.MaxValue);
            JpegAlphaCodec.Decode(input[4..], jpegSize, width, height, s_output, width * 4, s_limits);
        }
    }

    private static void Bitmap(ReadOnlySpan<byte> input)
    {
        int width = FuzzInput.TakeU16(ref input), height = FuzzInput.TakeU16(ref input), stride = FuzzInput.TakeU16(ref input);
        var format = (SpiceBitmapFormat)FuzzInput.TakeU8(ref input);
        byte flags = FuzzInput.TakeU8(ref input);
        if (s_limits.Allows(width, height, 4))
        {
            var bitmap = new BitmapDescriptor(width, height, stride, format, TopDown: (flags & 1) != 0);
            BitmapDecoder.Decode(input, bitmap, s_output, width * 4, (flags & 2) != 0 ? s_palette : null, s_limits);
        }
    }

    private static void SpiceImage(ReadOnlySpan<byte> input)
    {
        var type = FuzzInput.TakeU8(ref input) switch
        {
            0 => SpiceImageType.Quic,
            1 => SpiceImageType.LzRgb,
            2 => SpiceImageType.GlzRgb,
            3 => SpiceImageType.ZlibGlzRgb,
            4 => SpiceImageType.Jpeg,
            5 => SpiceImageType.JpegAlpha,
            _ => SpiceImageType.Lz4,
        };
        int width = FuzzInput.TakeU16(ref input), height = FuzzInput.TakeU16(ref input);
        if (s_limits.Allows(width, height, 4))
        {
            using var window = new GlzDecoderWindow(new GlzDecoderOptions { Limits = s_limits });
            SpiceImageDecoder.Decode(type, input, width, height, s_output, width * 4, window, out _, s_limits);
        }
    }

    private static readonly (int Width, int Height)[] s_sizes = [(16, 16), (7, 3), (1, 1), (40, 9)];

    /// <summary>The bare streams (payload without its SPICE size prefix).</summary>
    private static IEnumerable<byte[]> Streams(SpiceImageType type, int prefix) =>
        s_sizes.Select(s => DisplaySeeds.Payload(type, s.Width, s.Height)[prefix..]);

    /// <summary>u16 width, u16 height, then the stream (JPEG_ALPHA: u32 jpeg size first).</summary>
    private static IEnumerable<byte[]> Sized(SpiceImageType type, int prefix) =>
        s_sizes.Select<(int Width, int Height), byte[]>(s =>
        {
            var payload = DisplaySeeds.Payload(type, s.Width, s.Height);
            byte[] head = [(byte)s.Width, (byte)(s.Width >> 8), (byte)s.Height, (byte)(s.Height >> 8)];
            return type == SpiceImageType.JpegAlpha ? [.. head, .. payload.AsSpan(1, 4), .. payload.AsSpan(9)] : [.. head, .. payload[prefix..]];
        });

    private static IEnumerable<byte[]> LzSeeds()
    {
        foreach (var format in new[] { SpiceBitmapFormat.ThirtyTwoBit, SpiceBitmapFormat.TwentyFourBit, SpiceBitmapFormat.SixteenBit,
                     SpiceBitmapFormat.Rgba, SpiceBitmapFormat.EightBit, SpiceBitmapFormat.FourBitLE, SpiceBitmapFormat.OneBitBE })
        {
            int width = 16, height = 8;
            int stride = (int)SpiceBitmapFormats.MinStride(format, width);
            var pixels = DisplaySeeds.Pixels(width, height).AsSpan(0, stride * height).ToArray();
            var destination = new byte[LzEncoder.GetMaxEncodedLength(width, height, LzFormat.FromBitmapFormat(format))];
            if (LzEncoder.Encode(pixels, new BitmapDescriptor(width, height, stride, format), destination, out int written) == OperationStatus.Done)
            {
                yield return destination[..written];
            }
        }
    }

    private static IEnumerable<byte[]> GlzSeeds()
    {
        using var dictionary = new GlzEncoderDictionary();
        var sequence = new List<byte>();
        foreach (var (width, height) in s_sizes)
        {
            var pixels = DisplaySeeds.Pixels(width, height);
            var destination = new byte[GlzEncoderDictionary.GetMaxEncodedLength(width, height, LzImageType.Rgb32)];
            dictionary.Encode(pixels, BitmapDescriptor.Rgb32(width, height), destination, out int written, out _);
            sequence.AddRange([(byte)written, (byte)(written >> 8), .. destination.AsSpan(0, written)]);
            yield return [.. sequence];
        }
    }

    private static IEnumerable<byte[]> ZlibGlzSeeds()
    {
        foreach (var (width, height) in s_sizes)
        {
            var payload = DisplaySeeds.Payload(SpiceImageType.ZlibGlzRgb, width, height);
            yield return payload.Length > 8 && BinaryPrimitives.ReadUInt32LittleEndian(payload.AsSpan(4)) == payload.Length - 8
                ? [.. payload.AsSpan(0, 4), .. payload.AsSpan(8)]
                : [.. BitConverter.GetBytes(payload.Length - 4), .. payload.AsSpan(4)];
        }
    }

    private static IEnumerable<byte[]> BitmapSeeds()
    {
        foreach (var format in Enum.GetValues<SpiceBitmapFormat>().Where(f => f != SpiceBitmapFormat.Invalid))
        {
            int stride = (int)SpiceBitmapFormats.MinStride(format, 9);
            byte[] head = [9, 0, 5, 0, (byte)stride, 0, (byte)format, (byte)(((int)format & 1) | 2)];
            yield return [.. head, .. DisplaySeeds.Pixels(9, 5).AsSpan(0, stride * 5)];
        }
    }

    private static IEnumerable<byte[]> SpiceImageSeeds()
    {
        SpiceImageType[] types = [SpiceImageType.Quic, SpiceImageType.LzRgb, SpiceImageType.GlzRgb, SpiceImageType.ZlibGlzRgb, SpiceImageType.Jpeg, SpiceImageType.JpegAlpha, SpiceImageType.Lz4];
        for (int i = 0; i < types.Length; i++)
        {
            yield return [(byte)i, 16, 0, 16, 0, .. DisplaySeeds.Payload(types[i])];
        }
    }
}
