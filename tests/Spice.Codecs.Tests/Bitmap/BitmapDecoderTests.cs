using System.Buffers.Binary;
using Spice.Codecs.Bitmap;
using Spice.Codecs.Tests.Support;

namespace Spice.Codecs.Tests.Bitmap;

public class BitmapDecoderTests
{
    private static readonly SpicePalette s_palette = new(Enumerable.Range(0, 256).Select(i => (uint)(i * 0x010203) & 0xFFFFFF).ToArray());

    [Theory]
    [InlineData(SpiceBitmapFormat.OneBitLE, 13, 5)]
    [InlineData(SpiceBitmapFormat.OneBitBE, 9, 3)]
    [InlineData(SpiceBitmapFormat.FourBitLE, 7, 4)]
    [InlineData(SpiceBitmapFormat.FourBitBE, 7, 4)]
    [InlineData(SpiceBitmapFormat.EightBit, 5, 6)]
    [InlineData(SpiceBitmapFormat.SixteenBit, 3, 3)]
    [InlineData(SpiceBitmapFormat.TwentyFourBit, 11, 2)]
    [InlineData(SpiceBitmapFormat.ThirtyTwoBit, 1, 1)]
    [InlineData(SpiceBitmapFormat.Rgba, 6, 9)]
    [InlineData(SpiceBitmapFormat.EightBitAlpha, 10, 1)]
    public void Decode_EveryFormat_BothRowOrders_MatchesPerPixelReference(SpiceBitmapFormat format, int w, int h)
    {
        foreach (bool topDown in new[] { true, false })
        {
            byte[] data = TestImages.Convert(TestImages.Rgb32(TestImages.Kind.Noise, w, h, seed: w), w, h, format, out int stride,
                forcedStride: (int)SpiceBitmapFormats.MinStride(format, w) + 2);
            var d = new BitmapDescriptor(w, h, stride, format, topDown);
            var output = new byte[w * 4 * h];

            Assert.Equal(OperationStatus.Done, BitmapDecoder.Decode(data, d, output, w * 4, s_palette));

            for (int y = 0; y < h; y++)
            {
                int mem = (topDown ? y : h - 1 - y) * stride;
                for (int x = 0; x < w; x++)
                {
                    uint expected = format switch
                    {
                        SpiceBitmapFormat.OneBitLE => s_palette.Entries[(data[mem + x / 8] >> (x & 7)) & 1],
                        SpiceBitmapFormat.OneBitBE => s_palette.Entries[(data[mem + x / 8] >> (7 - (x & 7))) & 1],
                        SpiceBitmapFormat.FourBitLE => s_palette.Entries[(x & 1) == 0 ? data[mem + x / 2] & 15 : data[mem + x / 2] >> 4],
                        SpiceBitmapFormat.FourBitBE => s_palette.Entries[(x & 1) == 0 ? data[mem + x / 2] >> 4 : data[mem + x / 2] & 15],
                        SpiceBitmapFormat.EightBit => s_palette.Entries[data[mem + x]],
                        SpiceBitmapFormat.SixteenBit => Expand555(BinaryPrimitives.ReadUInt16LittleEndian(data.AsSpan(mem + 2 * x))),
                        SpiceBitmapFormat.TwentyFourBit => data[mem + 3 * x] | ((uint)data[mem + 3 * x + 1] << 8) | ((uint)data[mem + 3 * x + 2] << 16),
                        SpiceBitmapFormat.EightBitAlpha => (uint)data[mem + x] << 24,
                        _ => BinaryPrimitives.ReadUInt32LittleEndian(data.AsSpan(mem + 4 * x)),
                    };
                    Assert.Equal(expected, BinaryPrimitives.ReadUInt32LittleEndian(output.AsSpan((y * w + x) * 4)));
                }
            }
        }
    }

    private static uint Expand555(int p)
    {
        int r = (p >> 10) & 31, g = (p >> 5) & 31, b = p & 31;
        return (uint)(((b << 3) | (b >> 2)) | (((g << 3) | (g >> 2)) << 8) | (((r << 3) | (r >> 2)) << 16));
    }

    [Fact]
    public void Decode_ShortData_MissingPalette_HugeSize_ReturnInvalidData()
    {
        var output = new byte[64];
        Assert.Equal(OperationStatus.InvalidData, BitmapDecoder.Decode(new byte[10], new BitmapDescriptor(2, 2, 8, SpiceBitmapFormat.ThirtyTwoBit), output, 8));
        Assert.Equal(OperationStatus.InvalidData, BitmapDecoder.Decode(new byte[10], new BitmapDescriptor(2, 2, 2, SpiceBitmapFormat.EightBit), output, 8));
        Assert.Equal(OperationStatus.InvalidData, BitmapDecoder.Decode(new byte[10], new BitmapDescriptor(60000, 60000, 240000, SpiceBitmapFormat.ThirtyTwoBit), output, 8));
    }
}
