using Spice.Codecs.QuicImage;
using Spice.Codecs.Tests.Support;

namespace Spice.Codecs.Tests.QuicImage;

/// <summary>
/// Known answers on real desktops: two 1024 × 768 Xspice screens captured with spice-gtk (bench/codec-vs-c/images,
/// made by bench/codec-vs-c/capture-desktop.sh), in every QUIC input format (converted with <see cref="TestImages.Convert"/>).
/// Lengths and SHA-256 are spice-common quic.c's output (commit de79bac, gcc -O2), printed by
/// <c>bench/codec-vs-c/run.sh SPICE_COMMON_DIR --known-answers</c>; no reference code is in the repository.
/// </summary>
public class QuicDesktopKnownAnswerTests
{
    public static TheoryData<string, SpiceBitmapFormat, int, string> Vectors => new()
    {
        { "desktop-terminals", SpiceBitmapFormat.ThirtyTwoBit, 354460, "a4a338a3603cbf1d7b1f4dc4998472b93147cf773d8d7005a859042afc9cc5cf" },
        { "desktop-terminals", SpiceBitmapFormat.TwentyFourBit, 354460, "fbb5937c03748fcbe6dab5d71295ef6eaa1afdf344f0d344a3ac9477ea3ad2fa" },
        { "desktop-terminals", SpiceBitmapFormat.SixteenBit, 222140, "d50e28184cb4ab74a5d91983451fbbd442f0eb58f18e20dc879973810b355466" },
        { "desktop-terminals", SpiceBitmapFormat.Rgba, 557828, "a7486f50358b266d41090500e2036aae8be74c1d2f6a60f549a12c669fa781b3" },
        { "desktop-terminals", SpiceBitmapFormat.EightBitAlpha, 127080, "3833dc3d6c0f7c46934e89e4cf9829123091584bc0f320f23d50da1281cde94b" },
        { "desktop-windows", SpiceBitmapFormat.ThirtyTwoBit, 276204, "7fde299b3b053e968ba3d8577f07c32c15d8ddc69f3bd4f45809b5c9a63e0f6c" },
        { "desktop-windows", SpiceBitmapFormat.TwentyFourBit, 276204, "b1d02f47f39270671387f0b1962df1611635fa2b6e06b3cb000fde637bd19f5e" },
        { "desktop-windows", SpiceBitmapFormat.SixteenBit, 174088, "99b2568d73c87d3a1aa3fdb1342310101c316206e8774940725021389afd303a" },
        { "desktop-windows", SpiceBitmapFormat.Rgba, 479572, "55067d9715eaa82f9f5627d3b4a18f84a4fcda1c99cc6934fa449991e9ecce95" },
        { "desktop-windows", SpiceBitmapFormat.EightBitAlpha, 100952, "1b537bea679b83411f954cb12d1c073c1059032c2c93e4dc047105dab0739a98" },
    };

    [Theory]
    [MemberData(nameof(Vectors))]
    public void EncodeDecode_XspiceDesktop_MatchesReferenceStreamAndRestoresPixels(string image, SpiceBitmapFormat format, int length, string sha256)
    {
        byte[] bgrx = Ppm.ReadBgrx(Path.Combine(AppContext.BaseDirectory, "Vectors", "desktop", image + ".ppm.gz"), out int width, out int height);
        byte[] px = TestImages.Convert(bgrx, width, height, format, out int stride);
        var d = new BitmapDescriptor(width, height, stride, format, true);
        var encoded = new byte[QuicImageEncoder.GetMaxEncodedLength(width, height, QuicImageEncoder.TypeFor(format))];

        Assert.Equal(OperationStatus.Done, QuicImageEncoder.Encode(px, d, encoded, out int written));
        Assert.Equal(length, written);
        Assert.Equal(sha256, PixelAssert.Sha256(encoded.AsSpan(0, written)));

        var native = new QuicDecoderOptions { ToRgb32 = false };
        Assert.Equal(OperationStatus.Done, QuicImageDecoder.TryReadHeader(encoded.AsSpan(0, written), out QuicHeader header));
        int rowBytes = QuicImageDecoder.OutputRowBytes(header, toRgb32: false);
        var output = new byte[rowBytes * height];
        Assert.Equal(OperationStatus.Done, QuicImageDecoder.Decode(encoded.AsSpan(0, written), output, rowBytes, out _, native));
        if (format == SpiceBitmapFormat.ThirtyTwoBit)
        {
            PixelAssert.Rgb32Equal(px, d, output, rowBytes, 0x00FFFFFF);
        }
        else
        {
            PixelAssert.RowsEqual(px, d, output, rowBytes, rowBytes);
        }
    }
}
