using System.Buffers;
using System.Buffers.Binary;
using Accel.Core.Spice.Display;
using Spice.Codecs;
using Spice.Codecs.Glz;

namespace Accel.Core.Tests.Spice.Display;

[Collection(DisplayMetricsCollection.Name)]
public sealed class DisplayTranscoderTests
{
    public static TheoryData<DisplayCodec, SpiceImageType> LosslessCodecs => new()
    {
        { DisplayCodec.Quic, SpiceImageType.Quic },
        { DisplayCodec.Lz, SpiceImageType.LzRgb },
        { DisplayCodec.Glz, SpiceImageType.GlzRgb },
        { DisplayCodec.Lz4, SpiceImageType.Lz4 },
    };

    [Theory]
    [MemberData(nameof(LosslessCodecs))]
    public void Transcode_BitmapCopy_ReencodedLosslesslyUnderSameIdAndFlags(DisplayCodec codec, SpiceImageType expected)
    {
        var pixels = DrawMessages.Pixels(64, 48, photo: false);
        var image = DrawMessages.Image(99, SpiceImageType.Bitmap, SpiceImageDescriptor.CacheMe, 64, 48, DrawMessages.BitmapPayload(pixels, 64, 48));
        var body = DrawMessages.Copy(image);
        using var transcoder = new DisplayTranscoder(codec, 16 << 20);
        var output = new ArrayBufferWriter<byte>();

        long written = transcoder.Transcode(DisplayDrawMessage.DrawCopy, body, output);

        Assert.Equal(output.WrittenCount, written);
        var (descriptor, decoded) = DecodeOnly(output.WrittenSpan, new GlzDecoderWindow());
        Assert.Equal(expected, descriptor.Type);
        Assert.Equal(99ul, descriptor.Id);
        Assert.Equal(SpiceImageDescriptor.CacheMe, descriptor.Flags);
        Assert.Equal(pixels, decoded);
        Assert.True(output.WrittenCount < body.Length + 6);
        Assert.Equal(1, transcoder.ImagesReencoded);
    }

    [Fact]
    public void Transcode_JpegForUncachedPhoto_LossyButClose()
    {
        var pixels = DrawMessages.Pixels(64, 64, photo: true);
        var body = DrawMessages.Copy(DrawMessages.Image(5, SpiceImageType.Bitmap, 0, 64, 64, DrawMessages.BitmapPayload(pixels, 64, 64)));
        using var transcoder = new DisplayTranscoder(DisplayCodec.Jpeg, 16 << 20);
        var output = new ArrayBufferWriter<byte>();

        transcoder.Transcode(DisplayDrawMessage.DrawCopy, body, output);

        var (descriptor, decoded) = DecodeOnly(output.WrittenSpan, new GlzDecoderWindow());
        Assert.Equal(SpiceImageType.Jpeg, descriptor.Type);
        Assert.Equal(0, descriptor.Flags);
        Assert.True(Psnr(pixels, decoded) >= 30, $"PSNR {Psnr(pixels, decoded):F1}");
    }

    [Fact]
    public void Transcode_JpegForCachedImage_StaysLosslessAndReferencesPassUnchanged()
    {
        var pixels = DrawMessages.Pixels(64, 64, photo: true);
        var body = DrawMessages.Copy(DrawMessages.Image(5, SpiceImageType.Bitmap, SpiceImageDescriptor.CacheMe, 64, 64, DrawMessages.BitmapPayload(pixels, 64, 64)));
        using var transcoder = new DisplayTranscoder(DisplayCodec.Jpeg, 16 << 20);
        var output = new ArrayBufferWriter<byte>();
        transcoder.Transcode(DisplayDrawMessage.DrawCopy, body, output);
        var (descriptor, decoded) = DecodeOnly(output.WrittenSpan, new GlzDecoderWindow());

        // A cached image may later be asked for with FROM_CACHE_LOSSLESS: it must never be cached lossy.
        Assert.NotEqual(SpiceImageType.Jpeg, descriptor.Type);
        Assert.NotEqual(SpiceImageType.JpegAlpha, descriptor.Type);
        Assert.Equal(SpiceImageDescriptor.CacheMe, descriptor.Flags);
        Assert.Equal(pixels, decoded);

        var reference = DrawMessages.Copy(DrawMessages.Image(5, SpiceImageType.FromCacheLossless, 0, 64, 64, []));
        output.ResetWrittenCount();
        transcoder.Transcode(DisplayDrawMessage.DrawCopy, reference, output);
        Assert.Equal(reference, output.WrittenSpan[6..].ToArray());
    }

    [Fact]
    public void Transcode_JpegForCacheReplaceMe_StaysLossless()
    {
        var pixels = DrawMessages.Pixels(64, 64, photo: true);
        var body = DrawMessages.Copy(DrawMessages.Image(5, SpiceImageType.Bitmap, SpiceImageDescriptor.CacheReplaceMe, 64, 64, DrawMessages.BitmapPayload(pixels, 64, 64)));
        using var transcoder = new DisplayTranscoder(DisplayCodec.Jpeg, 16 << 20);
        var output = new ArrayBufferWriter<byte>();

        transcoder.Transcode(DisplayDrawMessage.DrawCopy, body, output);

        var (descriptor, decoded) = DecodeOnly(output.WrittenSpan, new GlzDecoderWindow());
        Assert.NotEqual(SpiceImageType.Jpeg, descriptor.Type);
        Assert.Equal(SpiceImageDescriptor.CacheReplaceMe, descriptor.Flags);
        Assert.Equal(pixels, decoded);
    }

    [Fact]
    public void Transcode_ServerGlzSequence_DecodedAgainstServerWindowAndResentAsLz4()
    {
        using var server = new GlzEncoderDictionary();
        using var transcoder = new DisplayTranscoder(DisplayCodec.Lz4, 16 << 20);
        var first = DrawMessages.Pixels(64, 32, photo: false);
        var second = first.ToArray();
        second[100] ^= 0xFF; // mostly a reference to the first image
        foreach (var pixels in new[] { first, second })
        {
            var bitmap = BitmapDescriptor.Rgb32(64, 32);
            var payload = new byte[SpiceImageEncoder.GetMaxPayloadLength(SpiceImageType.GlzRgb, 64, 32, bitmap.Format)];
            Assert.Equal(OperationStatus.Done, SpiceImageEncoder.Encode(SpiceImageType.GlzRgb, pixels, bitmap, payload, out int n, out var type, server));
            var body = DrawMessages.Copy(DrawMessages.Image(1, type, 0, 64, 32, payload.AsSpan(0, n)));
            var output = new ArrayBufferWriter<byte>();

            transcoder.Transcode(DisplayDrawMessage.DrawCopy, body, output);

            var (descriptor, decoded) = DecodeOnly(output.WrittenSpan, new GlzDecoderWindow());
            Assert.Equal(SpiceImageType.Lz4, descriptor.Type);
            Assert.Equal(pixels, decoded);
        }
    }

    [Fact]
    public void Transcode_FromCacheAndMessagesWithoutImages_PassThroughByteForByte()
    {
        var body = DrawMessages.Copy(DrawMessages.Image(1, SpiceImageType.FromCache, 0, 8, 8, []));
        using var transcoder = new DisplayTranscoder(DisplayCodec.Lz4, 16 << 20);
        var output = new ArrayBufferWriter<byte>();

        transcoder.Transcode(DisplayDrawMessage.DrawCopy, body, output);

        Assert.Equal(DisplayDrawMessage.DrawCopy, BinaryPrimitives.ReadUInt16LittleEndian(output.WrittenSpan));
        Assert.Equal((uint)body.Length, BinaryPrimitives.ReadUInt32LittleEndian(output.WrittenSpan[2..]));
        Assert.Equal(body, output.WrittenSpan[6..].ToArray());
        Assert.Equal(0, transcoder.ImagesReencoded);
    }

    [Fact]
    public void IsPhotoLike_PhotoAndFlatImages_Classified()
    {
        Assert.True(DisplayTranscoder.IsPhotoLike(DrawMessages.Pixels(64, 64, photo: true), 64, 64));
        Assert.False(DisplayTranscoder.IsPhotoLike(DrawMessages.Pixels(64, 64, photo: false), 64, 64));
    }

    [Theory]
    [InlineData("off", DisplayCodec.Off)]
    [InlineData("", DisplayCodec.Off)]
    [InlineData("Auto", DisplayCodec.Auto)]
    [InlineData("lz4", DisplayCodec.Lz4)]
    [InlineData("JPEG", DisplayCodec.Jpeg)]
    public void DisplayCodecs_KnownNames_Parse(string value, DisplayCodec expected)
    {
        Assert.True(DisplayCodecs.TryParse(value, out var codec));
        Assert.Equal(expected, codec);
    }

    [Theory]
    [InlineData("h264")]
    [InlineData("3")]
    public void DisplayCodecs_UnknownNames_Rejected(string value) => Assert.False(DisplayCodecs.TryParse(value, out _));

    /// <summary>Parses a transcoded message (mini header + body) and decodes its single image to BGRX.</summary>
    internal static (SpiceImageDescriptor Descriptor, byte[] Pixels) DecodeOnly(ReadOnlySpan<byte> message, GlzDecoderWindow window)
    {
        var type = BinaryPrimitives.ReadUInt16LittleEndian(message);
        var size = BinaryPrimitives.ReadUInt32LittleEndian(message[2..]);
        var body = message.Slice(6, (int)size);
        Assert.True(DisplayDrawMessage.TryParse(type, body, out var parsed));
        var image = parsed[0];
        return (image.Descriptor, DecodeImage(body, image, window));
    }

    internal static byte[] DecodeImage(ReadOnlySpan<byte> body, DisplayImageRef image, GlzDecoderWindow window)
    {
        int width = (int)image.Descriptor.Width;
        int height = (int)image.Descriptor.Height;
        var pixels = new byte[width * height * 4];
        var payload = body.Slice(image.PayloadOffset, image.PayloadLength);
        OperationStatus status;
        if (image.Descriptor.Type == SpiceImageType.Bitmap)
        {
            var format = (SpiceBitmapFormat)payload[0];
            int stride = BinaryPrimitives.ReadInt32LittleEndian(payload[10..]);
            int dataOffset = 14 + ((payload[1] & 2) != 0 ? 8 : 4);
            SpicePalette? palette = null;
            status = global::Spice.Codecs.Bitmap.BitmapDecoder.Decode(payload[dataOffset..], new BitmapDescriptor(width, height, stride, format, (payload[1] & 4) != 0), pixels, width * 4, palette);
        }
        else
        {
            status = SpiceImageDecoder.Decode(image.Descriptor.Type, payload, width, height, pixels, width * 4, window, out _);
        }

        Assert.Equal(OperationStatus.Done, status);
        for (int i = 3; i < pixels.Length; i += 4)
        {
            pixels[i] = 0;
        }

        return pixels;
    }

    internal static double Psnr(byte[] a, byte[] b)
    {
        double sum = 0;
        long n = 0;
        for (int i = 0; i < a.Length; i++)
        {
            if (i % 4 == 3)
            {
                continue;
            }

            double d = a[i] - b[i];
            sum += d * d;
            n++;
        }

        return sum == 0 ? 99 : 10 * Math.Log10(255.0 * 255.0 / (sum / n));
    }
}

/// <summary>
/// The display counters are process-wide: tests that read or produce them run one at a time. The collection also runs
/// apart from the others: its several Xspice instances and JPEG work loaded the 2-core machine enough to expose a
/// timing-dependent reset in SpiceRelayThroughEdgesTests.MalformedMotion_IsAProtocolViolation_MainStaysUp.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class DisplayMetricsCollection
{
    public const string Name = "display metrics";
}
