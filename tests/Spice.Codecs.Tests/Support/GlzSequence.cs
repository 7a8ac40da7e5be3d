namespace Spice.Codecs.Tests.Support;

/// <summary>The image sequence behind the GLZ reference vectors in Vectors/glz/ (server-encoded with one dictionary).</summary>
public static class GlzSequence
{
    public static readonly (SpiceBitmapFormat Format, TestImages.Kind Kind, int Width, int Height, int Seed, bool TopDown)[] Images =
    [
        (SpiceBitmapFormat.ThirtyTwoBit, TestImages.Kind.Text, 96, 64, 1, true),
        (SpiceBitmapFormat.ThirtyTwoBit, TestImages.Kind.Text, 96, 64, 1, false),
        (SpiceBitmapFormat.TwentyFourBit, TestImages.Kind.Plasma, 80, 60, 4, true),
        (SpiceBitmapFormat.SixteenBit, TestImages.Kind.Text, 96, 64, 1, true),
        (SpiceBitmapFormat.Rgba, TestImages.Kind.Text, 64, 48, 2, true),
        (SpiceBitmapFormat.Rgba, TestImages.Kind.Text, 64, 48, 2, false),
        (SpiceBitmapFormat.ThirtyTwoBit, TestImages.Kind.Gradient, 300, 40, 1, true),
    ];

    public static byte[] Pixels(int index, out BitmapDescriptor descriptor)
    {
        var (format, kind, w, h, seed, topDown) = Images[index];
        byte[] px = TestImages.Convert(TestImages.Rgb32(kind, w, h, seed), w, h, format, out int stride);
        descriptor = new BitmapDescriptor(w, h, stride, format, topDown);
        return px;
    }
}
