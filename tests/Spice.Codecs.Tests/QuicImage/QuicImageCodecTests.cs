using System.Buffers;
using Spice.Codecs.QuicImage;
using Spice.Codecs.Tests.Support;

namespace Spice.Codecs.Tests.QuicImage;

public class QuicImageCodecTests
{
    public static TheoryData<KnownAnswerCase> Vectors => KnownAnswers.Quic;

    [Theory]
    [MemberData(nameof(Vectors))]
    public void Encode_KnownAnswer_MatchesReferenceEncoderBitstream(KnownAnswerCase c)
    {
        byte[] px = c.Pixels(out int stride);
        BitmapDescriptor d = c.Descriptor(stride);
        var dst = new byte[QuicImageEncoder.GetMaxEncodedLength(c.Width, c.Height, (QuicImageType)c.CodecType)];

        OperationStatus status = QuicImageEncoder.Encode(px, d, dst, out int written);

        Assert.Equal(OperationStatus.Done, status);
        Assert.Equal(c.ExpectedLength, written);
        Assert.Equal(c.ExpectedSha256, PixelAssert.Sha256(dst.AsSpan(0, written)));
    }

    [Theory]
    [MemberData(nameof(Vectors))]
    public void Decode_KnownAnswer_RestoresPixels(KnownAnswerCase c)
    {
        byte[] px = c.Pixels(out int stride);
        BitmapDescriptor d = c.Descriptor(stride);
        var encoded = new byte[QuicImageEncoder.GetMaxEncodedLength(c.Width, c.Height, (QuicImageType)c.CodecType)];
        Assert.True(QuicImageEncoder.TryEncode(px, d, encoded, out int written));

        var native = new QuicDecoderOptions { ToRgb32 = false };
        var header = default(QuicHeader);
        int rowBytes = 0;
        Assert.Equal(OperationStatus.Done, QuicImageDecoder.TryReadHeader(encoded.AsSpan(0, written), out header));
        rowBytes = QuicImageDecoder.OutputRowBytes(header, toRgb32: false);
        var output = new byte[rowBytes * c.Height];

        Assert.Equal(OperationStatus.Done, QuicImageDecoder.Decode(encoded.AsSpan(0, written), output, rowBytes, out header, native));

        Assert.Equal(c.Width, header.Width);
        Assert.Equal(c.Height, header.Height);
        if (c.Format == SpiceBitmapFormat.ThirtyTwoBit)
        {
            PixelAssert.Rgb32Equal(px, d, output, rowBytes, 0x00FFFFFF);
        }
        else
        {
            PixelAssert.RowsEqual(px, d, output, rowBytes, rowBytes);
        }
    }

    [Theory]
    [InlineData(SpiceBitmapFormat.ThirtyTwoBit, TestImages.Kind.Text, 1, 1)]
    [InlineData(SpiceBitmapFormat.ThirtyTwoBit, TestImages.Kind.Plasma, 1, 77)]
    [InlineData(SpiceBitmapFormat.ThirtyTwoBit, TestImages.Kind.Text, 301, 1)]
    [InlineData(SpiceBitmapFormat.ThirtyTwoBit, TestImages.Kind.Text, 4099, 5)]
    [InlineData(SpiceBitmapFormat.TwentyFourBit, TestImages.Kind.Noise, 13, 17)]
    [InlineData(SpiceBitmapFormat.SixteenBit, TestImages.Kind.Gradient, 257, 31)]
    [InlineData(SpiceBitmapFormat.Rgba, TestImages.Kind.Text, 199, 101)]
    [InlineData(SpiceBitmapFormat.EightBitAlpha, TestImages.Kind.Noise, 33, 3)]
    public void RoundTrip_OddSizes_ToRgb32_Lossless(SpiceBitmapFormat format, TestImages.Kind kind, int width, int height)
    {
        byte[] rgb32 = TestImages.Rgb32(kind, width, height, seed: 7);
        byte[] px = TestImages.Convert(rgb32, width, height, format, out int stride, forcedStride: (int)SpiceBitmapFormats.MinStride(format, width) + 3);
        var d = new BitmapDescriptor(width, height, stride, format, TopDown: true);
        var encoded = new byte[QuicImageEncoder.GetMaxEncodedLength(width, height, QuicImageEncoder.TypeFor(format))];
        Assert.True(QuicImageEncoder.TryEncode(px, d, encoded, out int written));

        Assert.Equal(OperationStatus.Done, QuicImageDecoder.TryReadHeader(encoded, out QuicHeader header));
        int rowBytes = QuicImageDecoder.OutputRowBytes(header, toRgb32: true);
        var output = new byte[rowBytes * height];
        Assert.Equal(OperationStatus.Done, QuicImageDecoder.Decode(encoded.AsSpan(0, written), output, rowBytes, out _));

        for (int y = 0; y < height; y++)
        {
            for (int x = 0; x < width; x++)
            {
                int o = y * rowBytes;
                switch (format)
                {
                    case SpiceBitmapFormat.SixteenBit:
                        int p = px[y * stride + 2 * x] | (px[y * stride + 2 * x + 1] << 8);
                        int b5 = p & 31;
                        Assert.Equal((byte)((b5 << 3) | (b5 >> 2)), output[o + x * 4]);
                        break;
                    case SpiceBitmapFormat.EightBitAlpha:
                        Assert.Equal(px[y * stride + x], output[o + x]);
                        break;
                    case SpiceBitmapFormat.TwentyFourBit:
                        Assert.Equal(px.AsSpan(y * stride + x * 3, 3).ToArray(), output.AsSpan(o + x * 4, 3).ToArray());
                        break;
                    default:
                        int n = format == SpiceBitmapFormat.Rgba ? 4 : 3;
                        Assert.Equal(px.AsSpan(y * stride + x * 4, n).ToArray(), output.AsSpan(o + x * 4, n).ToArray());
                        break;
                }
            }
        }
    }

    [Fact]
    public void Encode_DestinationTooSmall_ReturnsDestinationTooSmall()
    {
        byte[] px = TestImages.Rgb32(TestImages.Kind.Noise, 64, 64);
        var dst = new byte[1000];

        OperationStatus status = QuicImageEncoder.Encode(px, BitmapDescriptor.Rgb32(64, 64), dst, out int written);

        Assert.Equal(OperationStatus.DestinationTooSmall, status);
        Assert.Equal(0, written);
    }

    [Fact]
    public void Decode_HeaderClaims60000Squared_ReturnsInvalidDataWithoutAllocating()
    {
        byte[] stream = new byte[64];
        BitConverter.TryWriteBytes(stream.AsSpan(0), QuicHeader.Magic);
        BitConverter.TryWriteBytes(stream.AsSpan(8), (uint)QuicImageType.Rgb32);
        BitConverter.TryWriteBytes(stream.AsSpan(12), 60000u);
        BitConverter.TryWriteBytes(stream.AsSpan(16), 60000u);
        var dst = new byte[16];

        long before = GC.GetAllocatedBytesForCurrentThread();
        OperationStatus status = QuicImageDecoder.Decode(stream, dst, 16, out _);
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;

        Assert.Equal(OperationStatus.InvalidData, status);
        Assert.True(allocated < 1024, $"allocated {allocated} bytes");
    }

    [Fact]
    public void Decode_ShortStreamForLargeHeader_ReturnsInvalidData()
    {
        byte[] stream = new byte[40];
        BitConverter.TryWriteBytes(stream.AsSpan(0), QuicHeader.Magic);
        BitConverter.TryWriteBytes(stream.AsSpan(8), (uint)QuicImageType.Rgb32);
        BitConverter.TryWriteBytes(stream.AsSpan(12), 4000u);
        BitConverter.TryWriteBytes(stream.AsSpan(16), 4000u);
        var dst = new byte[4000 * 4000 * 4];

        Assert.Equal(OperationStatus.InvalidData, QuicImageDecoder.Decode(stream, dst, 16000, out _));
    }

    [Fact]
    public async Task Decode_TruncatedStreams_ReturnInvalidData()
    {
        await Timed.RunAsync(() =>
        {
            foreach (TestImages.Kind kind in Enum.GetValues<TestImages.Kind>())
            {
                byte[] px = TestImages.Rgb32(kind, 57, 23);
                var encoded = new byte[QuicImageEncoder.GetMaxEncodedLength(57, 23, QuicImageType.Rgba)];
                var d = new BitmapDescriptor(57, 23, 57 * 4, SpiceBitmapFormat.Rgba);
                Assert.True(QuicImageEncoder.TryEncode(px, d, encoded, out int written));
                var output = new byte[57 * 4 * 23];
                for (int cut = 0; cut < written - 4; cut += Math.Max(1, cut / 8))
                {
                    OperationStatus status = QuicImageDecoder.Decode(encoded.AsSpan(0, cut), output, 57 * 4, out _);
                    Assert.Equal(OperationStatus.InvalidData, status);
                }
            }
        });
    }

    [Fact]
    public async Task Decode_RandomGarbage_NeverThrowsOrHangs()
    {
        await Timed.RunAsync(() =>
        {
            var rnd = new Random(1234);
            var output = new byte[300 * 4 * 200];
            foreach (QuicImageType type in new[] { QuicImageType.Gray, QuicImageType.Rgb16, QuicImageType.Rgb24, QuicImageType.Rgb32, QuicImageType.Rgba })
            {
                for (int i = 0; i < 200; i++)
                {
                    byte[] stream = new byte[rnd.Next(20, 4000)];
                    rnd.NextBytes(stream);
                    BitConverter.TryWriteBytes(stream.AsSpan(0), QuicHeader.Magic);
                    BitConverter.TryWriteBytes(stream.AsSpan(4), 0u);
                    BitConverter.TryWriteBytes(stream.AsSpan(8), (uint)type);
                    BitConverter.TryWriteBytes(stream.AsSpan(12), (uint)rnd.Next(1, 300));
                    BitConverter.TryWriteBytes(stream.AsSpan(16), (uint)rnd.Next(1, 200));
                    OperationStatus status = QuicImageDecoder.Decode(stream, output, 300 * 4, out _);
                    Assert.True(status is OperationStatus.InvalidData or OperationStatus.Done, status.ToString());
                }

                byte[] pure = new byte[rnd.Next(0, 100)];
                rnd.NextBytes(pure);
                Assert.Equal(OperationStatus.InvalidData, QuicImageDecoder.Decode(pure, output, 300 * 4, out _));
            }
        });
    }
}
