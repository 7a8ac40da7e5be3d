using Spice.Codecs.Glz;
using Spice.Codecs.Jpeg;
using Spice.Codecs.Tests.Support;

namespace Spice.Codecs.Tests.Common;

public class SpiceImageEncoderTests
{
    [Theory]
    [InlineData(SpiceImageType.Quic, SpiceBitmapFormat.ThirtyTwoBit, false)]
    [InlineData(SpiceImageType.Quic, SpiceBitmapFormat.SixteenBit, false)]
    [InlineData(SpiceImageType.LzRgb, SpiceBitmapFormat.Rgba, false)]
    [InlineData(SpiceImageType.GlzRgb, SpiceBitmapFormat.ThirtyTwoBit, false)]
    [InlineData(SpiceImageType.GlzRgb, SpiceBitmapFormat.TwentyFourBit, true)]
    [InlineData(SpiceImageType.Lz4, SpiceBitmapFormat.SixteenBit, false)]
    [InlineData(SpiceImageType.Jpeg, SpiceBitmapFormat.ThirtyTwoBit, false)]
    [InlineData(SpiceImageType.JpegAlpha, SpiceBitmapFormat.Rgba, false)]
    public void EncodeThenDecode_EveryType_RoundTrips(SpiceImageType type, SpiceBitmapFormat format, bool zlib)
    {
        if (type is SpiceImageType.Jpeg or SpiceImageType.JpegAlpha && !JpegCodec.IsSupported)
        {
            Assert.Fail("libturbojpeg.so.0 is not installed (Debian libturbojpeg0): run ./eng/setup.sh");
        }

        const int W = 150, H = 70;
        byte[] px = TestImages.Convert(TestImages.Rgb32(TestImages.Kind.Text, W, H, 4), W, H, format, out int stride);
        var d = new BitmapDescriptor(W, H, stride, format, TopDown: false);
        using var dict = new GlzEncoderDictionary();
        using var window = new GlzDecoderWindow();
        var payload = new byte[SpiceImageEncoder.GetMaxPayloadLength(type, W, H, format)];

        Assert.Equal(OperationStatus.Done, SpiceImageEncoder.Encode(type, px, d, payload, out int written, out SpiceImageType actual, dict,
            new SpiceImageEncoderOptions { ZlibWrapGlz = zlib }));
        Assert.Equal(zlib ? SpiceImageType.ZlibGlzRgb : type, actual);
        var output = new byte[W * 4 * H];
        Assert.Equal(OperationStatus.Done, SpiceImageDecoder.Decode(actual, payload.AsSpan(0, written), W, H, output, W * 4, window, out int consumed));

        Assert.Equal(written, consumed);
        if (type is SpiceImageType.Jpeg or SpiceImageType.JpegAlpha)
        {
            return;
        }

        var expected = new byte[W * 4 * H];
        Assert.Equal(OperationStatus.Done, Spice.Codecs.Bitmap.BitmapDecoder.Decode(px, d, expected, W * 4));
        for (int i = 0; i < W * H; i++)
        {
            int n = format == SpiceBitmapFormat.Rgba ? 4 : 3;
            Assert.Equal(expected.AsSpan(i * 4, n).ToArray(), output.AsSpan(i * 4, n).ToArray());
        }
    }

    [Fact]
    public void EncodeGlz_DestinationTooSmall_DoesNotSpendAnId()
    {
        byte[] px = TestImages.Rgb32(TestImages.Kind.Text, 64, 64);
        using var dict = new GlzEncoderDictionary();

        OperationStatus status = SpiceImageEncoder.Encode(SpiceImageType.GlzRgb, px, BitmapDescriptor.Rgb32(64, 64), new byte[100], out _, out _, dict);

        Assert.Equal(OperationStatus.DestinationTooSmall, status);
        Assert.Equal(0ul, dict.NextImageId);
    }
}
