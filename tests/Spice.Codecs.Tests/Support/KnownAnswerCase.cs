namespace Spice.Codecs.Tests.Support;

/// <summary>
/// One known-answer vector: a deterministic input image and the SHA-256 and length of the bitstream that the reference
/// C encoder (spice-common quic.c / lz.c, built outside the repository) produced for it.
/// </summary>
public sealed record KnownAnswerCase(string Name, SpiceBitmapFormat Format, TestImages.Kind Kind, int Width, int Height, bool TopDown,
    int CodecType, int ExpectedLength, string ExpectedSha256)
{
    public byte[] Pixels(out int stride)
    {
        byte[] rgb32 = TestImages.Rgb32(Kind, Width, Height, seed: Width * 31 + Height);
        return TestImages.Convert(rgb32, Width, Height, Format, out stride);
    }

    public BitmapDescriptor Descriptor(int stride) => new(Width, Height, stride, Format, TopDown);

    public override string ToString() => Name;
}
