using Spice.Codecs.Jpeg;
using Spice.Codecs.Tests.Support;

namespace Spice.Codecs.Tests.Jpeg;

public class JpegCodecTests
{
    private static void RequireLibrary()
    {
        if (!JpegCodec.IsSupported)
        {
            Assert.Fail("libturbojpeg.so.0 is not installed (Debian libturbojpeg0): run ./eng/setup.sh");
        }
    }

    private static double MeanAbsoluteError(byte[] a, byte[] b, int width, int height, int channels = 3)
    {
        long sum = 0;
        for (int i = 0; i < width * height; i++)
        {
            for (int c = 0; c < channels; c++)
            {
                sum += Math.Abs(a[i * 4 + c] - b[i * 4 + c]);
            }
        }

        return sum / (double)(width * height * channels);
    }

    [Theory]
    [InlineData(256, 192, true)]
    [InlineData(33, 7, false)]
    [InlineData(1, 1, true)]
    public void RoundTrip_Plasma_IsCloseToSource(int w, int h, bool topDown)
    {
        RequireLibrary();
        byte[] px = TestImages.Rgb32(TestImages.Kind.Plasma, w, h);
        var d = new BitmapDescriptor(w, h, w * 4, SpiceBitmapFormat.ThirtyTwoBit, topDown);
        var jpeg = new byte[JpegCodec.GetMaxEncodedLength(w, h)];
        Assert.Equal(OperationStatus.Done, JpegCodec.Encode(px, d, jpeg, out int written));
        Assert.Equal(0xFF, jpeg[0]);
        Assert.Equal(0xD8, jpeg[1]);
        var output = new byte[w * 4 * h];

        Assert.Equal(OperationStatus.Done, JpegCodec.Decode(jpeg.AsSpan(0, written), w, h, output, w * 4));

        byte[] expectedTopDown = new byte[px.Length];
        for (int y = 0; y < h; y++)
        {
            PixelAssert.Row(px, d, y).CopyTo(expectedTopDown.AsSpan(y * w * 4));
        }

        double mae = MeanAbsoluteError(expectedTopDown, output, w, h);
        Assert.True(mae < 6, $"mean abs error {mae}");
    }

    [Fact]
    public void Encode_SmallDestination_UsesLibraryBufferOrReportsTooSmall()
    {
        RequireLibrary();
        byte[] px = TestImages.Rgb32(TestImages.Kind.Gradient, 64, 64);
        var small = new byte[2000];
        OperationStatus status = JpegCodec.Encode(px, BitmapDescriptor.Rgb32(64, 64), small, out int written);
        Assert.True(status is OperationStatus.Done or OperationStatus.DestinationTooSmall);
        Assert.Equal(OperationStatus.DestinationTooSmall, JpegCodec.Encode(px, BitmapDescriptor.Rgb32(64, 64), new byte[10], out _));
        if (status == OperationStatus.Done)
        {
            Assert.Equal(OperationStatus.Done, JpegCodec.Decode(small.AsSpan(0, written), 64, 64, new byte[64 * 64 * 4], 256));
        }
    }

    [Fact]
    public void Decode_SizeDiffersFromDescriptor_ReturnsInvalidData()
    {
        RequireLibrary();
        byte[] px = TestImages.Rgb32(TestImages.Kind.Plasma, 40, 30);
        var jpeg = new byte[JpegCodec.GetMaxEncodedLength(40, 30)];
        Assert.Equal(OperationStatus.Done, JpegCodec.Encode(px, BitmapDescriptor.Rgb32(40, 30), jpeg, out int written));

        Assert.Equal(OperationStatus.InvalidData, JpegCodec.Decode(jpeg.AsSpan(0, written), 41, 30, new byte[41 * 4 * 30], 41 * 4));
    }

    [Fact]
    public async Task Decode_TruncatedAndGarbage_ReturnInvalidData()
    {
        RequireLibrary();
        await Timed.RunAsync(() =>
        {
            byte[] px = TestImages.Rgb32(TestImages.Kind.Plasma, 40, 30);
            var jpeg = new byte[JpegCodec.GetMaxEncodedLength(40, 30)];
            Assert.Equal(OperationStatus.Done, JpegCodec.Encode(px, BitmapDescriptor.Rgb32(40, 30), jpeg, out int written));
            var output = new byte[40 * 4 * 30];
            for (int cut = 0; cut < 200; cut += 7)
            {
                Assert.Equal(OperationStatus.InvalidData, JpegCodec.Decode(jpeg.AsSpan(0, cut), 40, 30, output, 160));
            }

            var rnd = new Random(8);
            for (int i = 0; i < 200; i++)
            {
                byte[] g = new byte[rnd.Next(0, 2000)];
                rnd.NextBytes(g);
                Assert.Equal(OperationStatus.InvalidData, JpegCodec.Decode(g, 40, 30, output, 160));
            }
        });
    }

    [Fact]
    public void Decode_ValidAfterCorruptOnSameThread_Succeeds()
    {
        RequireLibrary();
        byte[] px = TestImages.Rgb32(TestImages.Kind.Plasma, 48, 32);
        var jpeg = new byte[JpegCodec.GetMaxEncodedLength(48, 32)];
        Assert.Equal(OperationStatus.Done, JpegCodec.Encode(px, BitmapDescriptor.Rgb32(48, 32), jpeg, out int written));
        var output = new byte[48 * 4 * 32];
        var rnd = new Random(4);
        for (int i = 0; i < 50; i++)
        {
            byte[] corrupt = jpeg.AsSpan(0, written).ToArray();
            corrupt[rnd.Next(2, written)] ^= (byte)rnd.Next(1, 256);
            _ = JpegCodec.Decode(corrupt.AsSpan(0, rnd.Next(4, written)), 48, 32, output, 192);

            Assert.Equal(OperationStatus.Done, JpegCodec.Decode(jpeg.AsSpan(0, written), 48, 32, output, 192));
        }
    }

    [Fact]
    public void JpegAlpha_RoundTrip_AlphaIsExactAndColourClose()
    {
        RequireLibrary();
        const int W = 120, H = 80;
        byte[] px = TestImages.Convert(TestImages.Rgb32(TestImages.Kind.Plasma, W, H), W, H, SpiceBitmapFormat.Rgba, out int stride);
        var d = new BitmapDescriptor(W, H, stride, SpiceBitmapFormat.Rgba, TopDown: false);
        var data = new byte[JpegAlphaCodec.GetMaxEncodedLength(W, H)];
        Assert.Equal(OperationStatus.Done, JpegAlphaCodec.Encode(px, d, data, out int written, out int jpegSize));
        var output = new byte[W * 4 * H];

        Assert.Equal(OperationStatus.Done, JpegAlphaCodec.Decode(data.AsSpan(0, written), jpegSize, W, H, output, W * 4));

        for (int y = 0; y < H; y++)
        {
            ReadOnlySpan<byte> row = PixelAssert.Row(px, d, y);
            for (int x = 0; x < W; x++)
            {
                Assert.Equal(row[x * 4 + 3], output[(y * W + x) * 4 + 3]);
                Assert.InRange(Math.Abs(row[x * 4 + 1] - output[(y * W + x) * 4 + 1]), 0, 40);
            }
        }

        Assert.Equal(OperationStatus.InvalidData, JpegAlphaCodec.Decode(data.AsSpan(0, written - 3), jpegSize, W, H, output, W * 4));
    }
}
