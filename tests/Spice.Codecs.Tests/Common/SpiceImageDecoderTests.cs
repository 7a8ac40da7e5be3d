using System.Buffers.Binary;
using Spice.Codecs.Glz;
using Spice.Codecs.Jpeg;
using Spice.Codecs.Lz;
using Spice.Codecs.Lz4;
using Spice.Codecs.QuicImage;
using Spice.Codecs.Tests.Support;

namespace Spice.Codecs.Tests.Common;

public class SpiceImageDecoderTests
{
    private const int W = 123, H = 45;

    private static byte[] WithSize(ReadOnlySpan<byte> prefix, ReadOnlySpan<byte> data)
    {
        var p = new byte[prefix.Length + 4 + data.Length];
        prefix.CopyTo(p);
        BinaryPrimitives.WriteUInt32LittleEndian(p.AsSpan(prefix.Length), (uint)data.Length);
        data.CopyTo(p.AsSpan(prefix.Length + 4));
        return p;
    }

    private static (byte[] Pixels, BitmapDescriptor D) Source(SpiceBitmapFormat format = SpiceBitmapFormat.ThirtyTwoBit, bool topDown = true)
    {
        byte[] px = TestImages.Convert(TestImages.Rgb32(TestImages.Kind.Text, W, H, 9), W, H, format, out int stride);
        return (px, new BitmapDescriptor(W, H, stride, format, topDown));
    }

    private static byte[] Payload(SpiceImageType type, byte[] px, BitmapDescriptor d, GlzEncoderDictionary glz)
    {
        var buf = new byte[1 << 20];
        int n;
        switch (type)
        {
            case SpiceImageType.Quic:
                Assert.True(QuicImageEncoder.TryEncode(px, d, buf, out n));
                return WithSize([], buf.AsSpan(0, n));
            case SpiceImageType.LzRgb:
                Assert.True(LzEncoder.TryEncode(px, d, buf, out n));
                return WithSize([], buf.AsSpan(0, n));
            case SpiceImageType.GlzRgb:
                Assert.Equal(OperationStatus.Done, glz.Encode(px, d, buf, out n, out _));
                return WithSize([], buf.AsSpan(0, n));
            case SpiceImageType.ZlibGlzRgb:
                {
                    Assert.Equal(OperationStatus.Done, glz.Encode(px, d, buf, out n, out _));
                    var z = new byte[ZlibGlzCodec.GetMaxEncodedLength(n)];
                    Assert.Equal(OperationStatus.Done, ZlibGlzCodec.Compress(buf.AsSpan(0, n), z, out int zn));
                    var prefix = new byte[4];
                    BinaryPrimitives.WriteUInt32LittleEndian(prefix, (uint)n);
                    return WithSize(prefix, z.AsSpan(0, zn));
                }

            case SpiceImageType.Jpeg:
                Assert.Equal(OperationStatus.Done, JpegCodec.Encode(px, d, buf, out n));
                return WithSize([], buf.AsSpan(0, n));
            case SpiceImageType.JpegAlpha:
                {
                    Assert.Equal(OperationStatus.Done, JpegAlphaCodec.Encode(px, d, buf, out n, out int jpegSize));
                    var prefix = new byte[5];
                    prefix[0] = d.TopDown ? (byte)1 : (byte)0;
                    BinaryPrimitives.WriteUInt32LittleEndian(prefix.AsSpan(1), (uint)jpegSize);
                    return WithSize(prefix, buf.AsSpan(0, n));
                }

            default:
                Assert.Equal(OperationStatus.Done, Lz4ImageCodec.Encode(px, d, buf, out n));
                return WithSize([], buf.AsSpan(0, n));
        }
    }

    [Theory]
    [InlineData(SpiceImageType.Quic, SpiceBitmapFormat.ThirtyTwoBit)]
    [InlineData(SpiceImageType.Quic, SpiceBitmapFormat.Rgba)]
    [InlineData(SpiceImageType.LzRgb, SpiceBitmapFormat.TwentyFourBit)]
    [InlineData(SpiceImageType.LzRgb, SpiceBitmapFormat.Rgba)]
    [InlineData(SpiceImageType.GlzRgb, SpiceBitmapFormat.ThirtyTwoBit)]
    [InlineData(SpiceImageType.ZlibGlzRgb, SpiceBitmapFormat.ThirtyTwoBit)]
    [InlineData(SpiceImageType.Lz4, SpiceBitmapFormat.ThirtyTwoBit)]
    [InlineData(SpiceImageType.Lz4, SpiceBitmapFormat.TwentyFourBit)]
    public void Decode_LosslessPayloads_RestoreTopDownPixels(SpiceImageType type, SpiceBitmapFormat format)
    {
        var (px, d) = Source(format, topDown: false);
        using var dict = new GlzEncoderDictionary();
        using var window = new GlzDecoderWindow();
        byte[] payload = [.. Payload(type, px, d, dict), 0xEE, 0xEE];
        var output = new byte[W * 4 * H];

        Assert.Equal(OperationStatus.Done, SpiceImageDecoder.Decode(type, payload, W, H, output, W * 4, window, out int consumed));

        Assert.Equal(payload.Length - 2, consumed);
        for (int y = 0; y < H; y++)
        {
            ReadOnlySpan<byte> row = PixelAssert.Row(px, d, y);
            int bpp = format == SpiceBitmapFormat.TwentyFourBit ? 3 : 4;
            int n = format == SpiceBitmapFormat.Rgba ? 4 : 3;
            for (int x = 0; x < W; x++)
            {
                Assert.Equal(row.Slice(x * bpp, n).ToArray(), output.AsSpan((y * W + x) * 4, n).ToArray());
            }
        }
    }

    [Theory]
    [InlineData(SpiceImageType.Jpeg)]
    [InlineData(SpiceImageType.JpegAlpha)]
    public void Decode_JpegPayloads_Decode(SpiceImageType type)
    {
        if (!JpegCodec.IsSupported)
        {
            Assert.Fail("libturbojpeg.so.0 is not installed (Debian libturbojpeg0): run ./eng/setup.sh");
        }

        var (px, d) = Source(type == SpiceImageType.JpegAlpha ? SpiceBitmapFormat.Rgba : SpiceBitmapFormat.ThirtyTwoBit);
        byte[] payload = Payload(type, px, d, null!);
        var output = new byte[W * 4 * H];

        Assert.Equal(OperationStatus.Done, SpiceImageDecoder.Decode(type, payload, W, H, output, W * 4, null, out int consumed));

        Assert.Equal(payload.Length, consumed);
        if (type == SpiceImageType.JpegAlpha)
        {
            for (int i = 0; i < W * H; i++)
            {
                Assert.Equal(px[i * 4 + 3], output[i * 4 + 3]);
            }
        }
    }

    [Fact]
    public void Decode_DimensionMismatchOrShortPayload_ReturnsInvalidData()
    {
        var (px, d) = Source();
        using var dict = new GlzEncoderDictionary();
        using var window = new GlzDecoderWindow();
        var output = new byte[(W + 1) * 4 * H];
        foreach (SpiceImageType type in new[] { SpiceImageType.Quic, SpiceImageType.LzRgb, SpiceImageType.GlzRgb })
        {
            byte[] payload = Payload(type, px, d, dict);
            Assert.Equal(OperationStatus.InvalidData, SpiceImageDecoder.Decode(type, payload, W + 1, H, output, (W + 1) * 4, window, out _));
            Assert.Equal(OperationStatus.InvalidData, SpiceImageDecoder.Decode(type, payload.AsSpan(0, payload.Length - 1), W, H, output, W * 4, window, out _));
        }

        Assert.Equal(OperationStatus.InvalidData, SpiceImageDecoder.Decode(SpiceImageType.Quic, new byte[2], W, H, output, W * 4, null, out _));
        Assert.Equal(OperationStatus.InvalidData, SpiceImageDecoder.Decode(SpiceImageType.Quic, new byte[8], 60000, 60000, output, 240000, null, out _));
        Assert.Throws<ArgumentOutOfRangeException>(() => SpiceImageDecoder.Decode(SpiceImageType.Bitmap, new byte[8], W, H, output, W * 4, null, out _));
    }
}
