using System.Buffers;
using System.Buffers.Binary;
using Spice.Codecs.Lz;
using Spice.Codecs.Tests.Support;

namespace Spice.Codecs.Tests.Lz;

public class LzCodecTests
{
    public static TheoryData<KnownAnswerCase> Vectors => KnownAnswers.Lz;

    private static SpicePalette GreyPalette(int entries)
    {
        var e = new uint[entries];
        for (int i = 0; i < entries; i++)
        {
            uint v = (uint)(i * 255 / Math.Max(1, entries - 1));
            e[i] = v | (v << 8) | (v << 16);
        }

        return new SpicePalette(e);
    }

    [Theory]
    [MemberData(nameof(Vectors))]
    public void Encode_KnownAnswer_MatchesReferenceEncoderBytes(KnownAnswerCase c)
    {
        byte[] px = c.Pixels(out int stride);
        BitmapDescriptor d = c.Descriptor(stride);
        var dst = new byte[LzEncoder.GetMaxEncodedLength(c.Width, c.Height, (LzImageType)c.CodecType)];

        OperationStatus status = LzEncoder.Encode(px, d, dst, out int written);

        Assert.Equal(OperationStatus.Done, status);
        Assert.Equal(c.ExpectedLength, written);
        Assert.Equal(c.ExpectedSha256, PixelAssert.Sha256(dst.AsSpan(0, written)));
    }

    [Theory]
    [MemberData(nameof(Vectors))]
    public void Decode_KnownAnswer_NativeOutputRestoresPixels(KnownAnswerCase c)
    {
        byte[] px = c.Pixels(out int stride);
        BitmapDescriptor d = c.Descriptor(stride);
        var encoded = new byte[LzEncoder.GetMaxEncodedLength(c.Width, c.Height, (LzImageType)c.CodecType)];
        Assert.True(LzEncoder.TryEncode(px, d, encoded, out int written));
        Assert.Equal(OperationStatus.Done, LzDecoder.TryReadHeader(encoded, out LzHeader header));
        int rowBytes = LzDecoder.OutputRowBytes(header, toRgb32: false);
        var output = new byte[rowBytes * c.Height];

        OperationStatus status = LzDecoder.Decode(encoded.AsSpan(0, written), output, rowBytes, out header,
            options: new LzDecoderOptions { ToRgb32 = false });

        Assert.Equal(OperationStatus.Done, status);
        Assert.Equal((LzImageType)c.CodecType, header.Type);
        if (c.Format == SpiceBitmapFormat.ThirtyTwoBit)
        {
            PixelAssert.Rgb32Equal(px, d, output, rowBytes, 0x00FFFFFF);
        }
        else
        {
            PixelAssert.RowsEqual(px, d, output, rowBytes, (int)SpiceBitmapFormats.MinStride(c.Format, c.Width));
        }
    }

    [Theory]
    [InlineData(SpiceBitmapFormat.OneBitLE, 2)]
    [InlineData(SpiceBitmapFormat.OneBitBE, 2)]
    [InlineData(SpiceBitmapFormat.FourBitLE, 16)]
    [InlineData(SpiceBitmapFormat.FourBitBE, 16)]
    [InlineData(SpiceBitmapFormat.EightBit, 256)]
    public void Decode_PaletteToRgb32_MatchesPaletteLookup(SpiceBitmapFormat format, int entries)
    {
        const int W = 45, H = 19;
        byte[] px = TestImages.Convert(TestImages.Rgb32(TestImages.Kind.Text, W, H), W, H, format, out int stride);
        var d = new BitmapDescriptor(W, H, stride, format, TopDown: false);
        var encoded = new byte[LzEncoder.GetMaxEncodedLength(W, H, LzFormat.FromBitmapFormat(format))];
        Assert.True(LzEncoder.TryEncode(px, d, encoded, out int written));
        SpicePalette palette = GreyPalette(entries);
        var output = new byte[W * 4 * H];

        Assert.Equal(OperationStatus.Done, LzDecoder.Decode(encoded.AsSpan(0, written), output, W * 4, out _, palette));

        int bits = SpiceBitmapFormats.BitsPerPixel(format);
        for (int y = 0; y < H; y++)
        {
            int memRow = H - 1 - y;
            for (int x = 0; x < W; x++)
            {
                int index = bits switch
                {
                    8 => px[memRow * stride + x],
                    4 => format == SpiceBitmapFormat.FourBitBE == ((x & 1) == 0) ? px[memRow * stride + x / 2] >> 4 : px[memRow * stride + x / 2] & 15,
                    _ => (px[memRow * stride + x / 8] >> (format == SpiceBitmapFormat.OneBitBE ? 7 - (x & 7) : x & 7)) & 1,
                };
                Assert.Equal(palette.Entries[index], BinaryPrimitives.ReadUInt32LittleEndian(output.AsSpan((y * W + x) * 4)));
            }
        }
    }

    [Theory]
    [InlineData(1, 1)]
    [InlineData(1, 9)]
    [InlineData(9, 1)]
    [InlineData(2, 2)]
    [InlineData(7, 3)]
    [InlineData(1023, 11)]
    public void RoundTrip_Rgba_OddSizes_BottomUpFlipped(int width, int height)
    {
        byte[] px = TestImages.Convert(TestImages.Rgb32(TestImages.Kind.Text, width, height), width, height, SpiceBitmapFormat.Rgba, out int stride);
        var d = new BitmapDescriptor(width, height, stride, SpiceBitmapFormat.Rgba, TopDown: false);
        var encoded = new byte[LzEncoder.GetMaxEncodedLength(width, height, LzImageType.Rgba)];
        Assert.True(LzEncoder.TryEncode(px, d, encoded, out int written));
        var output = new byte[width * 4 * height];

        Assert.Equal(OperationStatus.Done, LzDecoder.Decode(encoded.AsSpan(0, written), output, width * 4, out LzHeader header));

        Assert.False(header.TopDown);
        PixelAssert.Rgb32Equal(px, d, output, width * 4, 0xFFFFFFFF);
    }

    [Fact]
    public void RoundTrip_PaddedStride_IsPackedAndRestored()
    {
        const int W = 37, H = 12;
        byte[] px = TestImages.Convert(TestImages.Rgb32(TestImages.Kind.Plasma, W, H), W, H, SpiceBitmapFormat.TwentyFourBit, out int stride, forcedStride: W * 3 + 5);
        var d = new BitmapDescriptor(W, H, stride, SpiceBitmapFormat.TwentyFourBit);
        var encoded = new byte[LzEncoder.GetMaxEncodedLength(W, H, LzImageType.Rgb24)];
        Assert.True(LzEncoder.TryEncode(px, d, encoded, out int written));
        var output = new byte[W * 4 * H];

        Assert.Equal(OperationStatus.Done, LzDecoder.Decode(encoded.AsSpan(0, written), output, W * 4, out LzHeader header));

        Assert.Equal(W * 3, header.Stride);
        for (int y = 0; y < H; y++)
        {
            for (int x = 0; x < W; x++)
            {
                Assert.Equal(px.AsSpan(y * stride + x * 3, 3).ToArray(), output.AsSpan((y * W + x) * 4, 3).ToArray());
            }
        }
    }

    [Fact]
    public void Xxxa_RoundTrip_WritesOnlyAlphaBytes()
    {
        const int W = 50, H = 30;
        byte[] px = TestImages.Convert(TestImages.Rgb32(TestImages.Kind.Gradient, W, H), W, H, SpiceBitmapFormat.Rgba, out int stride);
        var d = new BitmapDescriptor(W, H, stride, SpiceBitmapFormat.Rgba);
        var encoded = new byte[LzEncoder.GetMaxEncodedLength(W, H, LzImageType.Xxxa)];
        Assert.True(LzEncoder.TryEncode(px, d, encoded, out int written, new LzEncoderOptions { Type = LzImageType.Xxxa }));
        var output = new byte[W * 4 * H];
        output.AsSpan().Fill(0x11);

        Assert.Equal(OperationStatus.Done, LzDecoder.Decode(encoded.AsSpan(0, written), output, W * 4, out _));

        for (int i = 0; i < W * H; i++)
        {
            Assert.Equal(px[i * 4 + 3], output[i * 4 + 3]);
            Assert.Equal(0x11, output[i * 4]);
        }
    }

    [Fact]
    public void Encode_DestinationTooSmall_ReturnsDestinationTooSmall()
    {
        byte[] px = TestImages.Rgb32(TestImages.Kind.Noise, 64, 64);

        OperationStatus status = LzEncoder.Encode(px, BitmapDescriptor.Rgb32(64, 64), new byte[500], out int written);

        Assert.Equal(OperationStatus.DestinationTooSmall, status);
        Assert.Equal(0, written);
    }

    [Fact]
    public void Decode_HeaderClaims60000Squared_ReturnsInvalidDataWithoutAllocating()
    {
        var stream = new byte[64];
        WriteHeader(stream, LzImageType.Rgb32, 60000, 60000, 240000);
        var dst = new byte[16];

        long before = GC.GetAllocatedBytesForCurrentThread();
        OperationStatus status = LzDecoder.Decode(stream, dst, 16, out _);
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;

        Assert.Equal(OperationStatus.InvalidData, status);
        Assert.True(allocated < 1024, $"allocated {allocated} bytes");
    }

    [Fact]
    public async Task Decode_TruncatedStreams_ReturnInvalidData()
    {
        await Timed.RunAsync(() =>
        {
            foreach (SpiceBitmapFormat format in new[] { SpiceBitmapFormat.Rgba, SpiceBitmapFormat.SixteenBit, SpiceBitmapFormat.EightBit, SpiceBitmapFormat.OneBitBE })
            {
                byte[] px = TestImages.Convert(TestImages.Rgb32(TestImages.Kind.Text, 90, 40), 90, 40, format, out int stride);
                var d = new BitmapDescriptor(90, 40, stride, format);
                var encoded = new byte[LzEncoder.GetMaxEncodedLength(90, 40, LzFormat.FromBitmapFormat(format))];
                Assert.True(LzEncoder.TryEncode(px, d, encoded, out int written));
                var output = new byte[90 * 4 * 40];
                for (int cut = 0; cut < written; cut++)
                {
                    Assert.Equal(OperationStatus.InvalidData, LzDecoder.Decode(encoded.AsSpan(0, cut), output, 90 * 4, out _, GreyPalette(256)));
                }
            }
        });
    }

    [Fact]
    public async Task Decode_RandomGarbage_ReturnsInvalidDataOrDecodesWithoutThrowing()
    {
        await Timed.RunAsync(() =>
        {
            var rnd = new Random(99);
            var output = new byte[200 * 4 * 100];
            for (int i = 0; i < 3000; i++)
            {
                byte[] stream = new byte[rnd.Next(28, 3000)];
                rnd.NextBytes(stream);
                var type = (LzImageType)rnd.Next(1, 12);
                int w = rnd.Next(1, 200), h = rnd.Next(1, 100);
                int stride = LzFormat.IsPalette(type) ? (w + LzFormat.PixelsPerByte(type) - 1) / LzFormat.PixelsPerByte(type) : w * LzFormat.BytesPerPixel(type);
                WriteHeader(stream, type, w, h, stride);
                OperationStatus status = LzDecoder.Decode(stream, output, 200 * 4, out _, GreyPalette(16));
                Assert.True(status is OperationStatus.InvalidData or OperationStatus.Done);
            }

            byte[] pure = new byte[500];
            rnd.NextBytes(pure);
            Assert.Equal(OperationStatus.InvalidData, LzDecoder.Decode(pure, output, 200 * 4, out _));
        });
    }

    internal static void WriteHeader(Span<byte> s, LzImageType type, int w, int h, int stride, bool topDown = true)
    {
        BinaryPrimitives.WriteUInt32BigEndian(s, LzHeader.Magic);
        BinaryPrimitives.WriteUInt32BigEndian(s[4..], LzHeader.Version);
        BinaryPrimitives.WriteUInt32BigEndian(s[8..], (uint)type);
        BinaryPrimitives.WriteUInt32BigEndian(s[12..], (uint)w);
        BinaryPrimitives.WriteUInt32BigEndian(s[16..], (uint)h);
        BinaryPrimitives.WriteUInt32BigEndian(s[20..], (uint)stride);
        BinaryPrimitives.WriteUInt32BigEndian(s[24..], topDown ? 1u : 0u);
    }
}
