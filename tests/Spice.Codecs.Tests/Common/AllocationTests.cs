using Spice.Codecs.Lz;
using Spice.Codecs.Lz4;
using Spice.Codecs.QuicImage;
using Spice.Codecs.Tests.Support;

namespace Spice.Codecs.Tests.Common;

public class AllocationTests
{
    /// <summary>
    /// Bytes this thread allocated over 5 calls after 3 warm-up calls; the least of 3 such rounds. A per-image allocation
    /// shows in every round; a one-off does not fail the test — e.g. ArrayPool's shared buckets, which a gen-2 GC may trim
    /// while other test assemblies load the machine, recreated by the next Rent (872 bytes once in a fresh-clone run).
    /// </summary>
    private static long Measure(Action action)
    {
        for (int i = 0; i < 3; i++)
        {
            action();
        }

        long least = long.MaxValue;
        for (int round = 0; round < 3 && least > 0; round++)
        {
            long before = GC.GetAllocatedBytesForCurrentThread();
            for (int i = 0; i < 5; i++)
            {
                action();
            }

            least = Math.Min(least, GC.GetAllocatedBytesForCurrentThread() - before);
        }

        return least;
    }

    [Fact]
    public void SteadyState_EncodeAndDecode_AllocateNothingPerImage()
    {
        const int W = 320, H = 200;
        byte[] px = TestImages.Rgb32(TestImages.Kind.Text, W, H);
        var d = BitmapDescriptor.Rgb32(W, H);
        var encoded = new byte[QuicImageEncoder.GetMaxEncodedLength(W, H, QuicImageType.Rgb32)];
        var output = new byte[W * H * 4];
        int n = 0;

        Assert.Equal(0, Measure(() => QuicImageEncoder.TryEncode(px, d, encoded, out n)));
        int quicLength = n;
        Assert.Equal(0, Measure(() => QuicImageDecoder.Decode(encoded.AsSpan(0, quicLength), output, W * 4, out _)));
        var lz = new byte[LzEncoder.GetMaxEncodedLength(W, H, LzImageType.Rgb32)];
        Assert.Equal(0, Measure(() => LzEncoder.TryEncode(px, d, lz, out n)));
        int lzLength = n;
        Assert.Equal(0, Measure(() => LzDecoder.Decode(lz.AsSpan(0, lzLength), output, W * 4, out _)));
        var lz4 = new byte[Lz4ImageCodec.GetMaxEncodedLength(W, H, SpiceBitmapFormat.ThirtyTwoBit)];
        Assert.Equal(0, Measure(() => Lz4ImageCodec.Encode(px, d, lz4, out n)));
        int lz4Length = n;
        Assert.Equal(0, Measure(() => Lz4ImageCodec.Decode(lz4.AsSpan(0, lz4Length), W, H, output, W * 4, out _)));
    }
}
