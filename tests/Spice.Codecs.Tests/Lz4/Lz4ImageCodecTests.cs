using System.Buffers.Binary;
using K4os.Compression.LZ4;
using Spice.Codecs.Lz4;
using Spice.Codecs.Tests.Support;

namespace Spice.Codecs.Tests.Lz4;

public class Lz4ImageCodecTests
{
    [Theory]
    [InlineData(SpiceBitmapFormat.ThirtyTwoBit, 1, 1, true)]
    [InlineData(SpiceBitmapFormat.ThirtyTwoBit, 1024, 768, true)]
    [InlineData(SpiceBitmapFormat.Rgba, 333, 17, false)]
    [InlineData(SpiceBitmapFormat.TwentyFourBit, 77, 1, true)]
    [InlineData(SpiceBitmapFormat.SixteenBit, 1, 99, false)]
    public void RoundTrip_Formats_RestoresRows(SpiceBitmapFormat format, int w, int h, bool topDown)
    {
        byte[] px = TestImages.Convert(TestImages.Rgb32(TestImages.Kind.Text, w, h), w, h, format, out int stride, forcedStride: (int)SpiceBitmapFormats.MinStride(format, w) + 8);
        var d = new BitmapDescriptor(w, h, stride, format, topDown);
        var encoded = new byte[Lz4ImageCodec.GetMaxEncodedLength(w, h, format)];
        Assert.Equal(OperationStatus.Done, Lz4ImageCodec.Encode(px, d, encoded, out int written));
        int rowBytes = w * Lz4ImageCodec.BytesPerPixel(format);
        var output = new byte[rowBytes * h];

        Assert.Equal(OperationStatus.Done, Lz4ImageCodec.Decode(encoded.AsSpan(0, written), w, h, output, rowBytes, out Lz4ImageHeader header));

        Assert.Equal(topDown, header.TopDown);
        Assert.Equal(format, header.Format);
        PixelAssert.RowsEqual(px, d, output, rowBytes, rowBytes);
    }

    [Fact]
    public void Decode_BlockReferencingPreviousBlock_Decodes()
    {
        // The server uses LZ4 streaming: a later block may copy from earlier blocks' output.
        // Block 1: rows 0..3 (64 bytes), independent. Block 2: row 4, hand-made: an 8-byte match 16 bytes back, 8 literals.
        const int W = 4, H = 5;
        byte[] expected = TestImages.Noise(W * 4 * H, seed: 11);
        expected.AsSpan(48, 8).CopyTo(expected.AsSpan(64));
        var block1 = new byte[LZ4Codec.MaximumOutputSize(64)];
        int n1 = LZ4Codec.Encode(expected.AsSpan(0, 64), block1, LZ4Level.L00_FAST);
        byte[] block2 = [0x04, 16, 0, 0x80, .. expected.AsSpan(72, 8).ToArray()];
        var stream = new List<byte> { 1, (byte)SpiceBitmapFormat.ThirtyTwoBit };
        foreach (byte[] b in new[] { block1.AsSpan(0, n1).ToArray(), block2 })
        {
            var len = new byte[4];
            BinaryPrimitives.WriteUInt32BigEndian(len, (uint)b.Length);
            stream.AddRange(len);
            stream.AddRange(b);
        }

        var output = new byte[W * 4 * H];
        Assert.Equal(OperationStatus.Done, Lz4ImageCodec.Decode(stream.ToArray(), W, H, output, W * 4, out _));
        Assert.Equal(expected, output);
    }

    [Fact]
    public async Task Decode_TruncatedAndGarbage_ReturnInvalidData()
    {
        await Timed.RunAsync(() =>
        {
            byte[] px = TestImages.Rgb32(TestImages.Kind.Plasma, 50, 20);
            var encoded = new byte[Lz4ImageCodec.GetMaxEncodedLength(50, 20, SpiceBitmapFormat.ThirtyTwoBit)];
            Assert.Equal(OperationStatus.Done, Lz4ImageCodec.Encode(px, BitmapDescriptor.Rgb32(50, 20), encoded, out int written));
            var output = new byte[200 * 20];
            for (int cut = 0; cut < written; cut++)
            {
                Assert.Equal(OperationStatus.InvalidData, Lz4ImageCodec.Decode(encoded.AsSpan(0, cut), 50, 20, output, 200, out _));
            }

            var rnd = new Random(3);
            for (int i = 0; i < 1000; i++)
            {
                byte[] g = new byte[rnd.Next(0, 3000)];
                rnd.NextBytes(g);
                if (g.Length > 2)
                {
                    g[0] = 1;
                    g[1] = 8;
                }

                OperationStatus status = Lz4ImageCodec.Decode(g, 50, 20, output, 200, out _);
                Assert.True(status is OperationStatus.InvalidData or OperationStatus.Done);
            }

            Assert.Equal(OperationStatus.InvalidData, Lz4ImageCodec.Decode(new byte[] { 1, 8, 0, 0 }, 60000, 60000, output, 200, out _));
        });
    }
}
