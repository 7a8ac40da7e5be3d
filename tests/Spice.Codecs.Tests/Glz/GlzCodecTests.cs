using System.Buffers.Binary;
using Spice.Codecs.Glz;
using Spice.Codecs.Lz;
using Spice.Codecs.Tests.Support;

namespace Spice.Codecs.Tests.Glz;

public class GlzCodecTests
{
    private static (byte[] Pixels, BitmapDescriptor Descriptor) Image(SpiceBitmapFormat format, TestImages.Kind kind, int w, int h, int seed, bool topDown = true)
    {
        byte[] px = TestImages.Convert(TestImages.Rgb32(kind, w, h, seed), w, h, format, out int stride);
        return (px, new BitmapDescriptor(w, h, stride, format, topDown));
    }

    private static byte[] Encode(GlzEncoderDictionary dict, byte[] px, in BitmapDescriptor d)
    {
        var dst = new byte[GlzEncoderDictionary.GetMaxEncodedLength(d.Width, d.Height, LzFormat.FromBitmapFormat(d.Format))];
        Assert.Equal(OperationStatus.Done, dict.Encode(px, d, dst, out int written, out _));
        return dst.AsSpan(0, written).ToArray();
    }

    private static void AssertDecodedEquals(byte[] px, in BitmapDescriptor d, byte[] output)
    {
        for (int y = 0; y < d.Height; y++)
        {
            ReadOnlySpan<byte> row = PixelAssert.Row(px, d, y);
            for (int x = 0; x < d.Width; x++)
            {
                uint actual = BinaryPrimitives.ReadUInt32LittleEndian(output.AsSpan((y * d.Width + x) * 4));
                uint expected;
                uint mask = 0x00FFFFFF;
                switch (d.Format)
                {
                    case SpiceBitmapFormat.SixteenBit:
                        int p = row[2 * x] | (row[2 * x + 1] << 8);
                        int r = (p >> 10) & 31, g = (p >> 5) & 31, b = p & 31;
                        expected = (uint)(((b << 3) | (b >> 2)) | (((g << 3) | (g >> 2)) << 8) | (((r << 3) | (r >> 2)) << 16));
                        break;
                    case SpiceBitmapFormat.TwentyFourBit:
                        expected = row[3 * x] | ((uint)row[3 * x + 1] << 8) | ((uint)row[3 * x + 2] << 16);
                        break;
                    default:
                        expected = BinaryPrimitives.ReadUInt32LittleEndian(row[(4 * x)..]);
                        if (d.Format == SpiceBitmapFormat.Rgba)
                        {
                            mask = 0xFFFFFFFF;
                        }

                        break;
                }

                Assert.True((expected & mask) == (actual & mask), $"pixel ({x},{y}) expected {expected & mask:X8} got {actual & mask:X8}");
            }
        }
    }

    [Theory]
    [InlineData(SpiceBitmapFormat.ThirtyTwoBit)]
    [InlineData(SpiceBitmapFormat.TwentyFourBit)]
    [InlineData(SpiceBitmapFormat.SixteenBit)]
    [InlineData(SpiceBitmapFormat.Rgba)]
    public void RoundTrip_SequenceOfImages_DecoderWindowStaysInStep(SpiceBitmapFormat format)
    {
        using var dict = new GlzEncoderDictionary();
        using var window = new GlzDecoderWindow();
        var kinds = new[] { TestImages.Kind.Text, TestImages.Kind.Text, TestImages.Kind.Plasma, TestImages.Kind.Gradient, TestImages.Kind.Text, TestImages.Kind.Noise };
        for (int i = 0; i < kinds.Length; i++)
        {
            var (px, d) = Image(format, kinds[i], 120 + i, 70 + 3 * i, seed: i % 2, topDown: i % 3 != 0);
            byte[] glz = Encode(dict, px, d);
            var output = new byte[d.Width * 4 * d.Height];

            Assert.Equal(OperationStatus.Done, window.Decode(glz, output, d.Width * 4, out GlzHeader header));

            Assert.Equal((ulong)i, header.Id);
            AssertDecodedEquals(px, d, output);
        }
    }

    [Fact]
    public void Decode_StreamsFromSpiceServerEncoder_RestorePixels()
    {
        // Vectors/glz/server{i}.glz were produced by spice-server's GLZ encoder (server/glz-encoder.c, one dictionary,
        // built outside the repository) from GlzSequence's images, in order.
        using var window = new GlzDecoderWindow();
        int crossImage = 0;
        for (int i = 0; i < GlzSequence.Images.Length; i++)
        {
            byte[] glz = File.ReadAllBytes(Path.Combine(AppContext.BaseDirectory, "Vectors", "glz", $"server{i}.glz"));
            byte[] px = GlzSequence.Pixels(i, out BitmapDescriptor d);
            var output = new byte[d.Width * 4 * d.Height];

            Assert.Equal(OperationStatus.Done, window.Decode(glz, output, d.Width * 4, out GlzHeader header));

            Assert.Equal((ulong)i, header.Id);
            crossImage += header.WindowHeadDistance > 0 ? 1 : 0;
            AssertDecodedEquals(px, d, output);
        }

        Assert.True(crossImage > 0);
    }

    [Fact]
    public void Encode_RepeatedImage_UsesCrossImageReferencesAndShrinks()
    {
        using var dict = new GlzEncoderDictionary();
        using var window = new GlzDecoderWindow();
        var (px, d) = Image(SpiceBitmapFormat.ThirtyTwoBit, TestImages.Kind.Plasma, 200, 150, seed: 3);
        byte[] first = Encode(dict, px, d);
        byte[] second = Encode(dict, px, d);
        var output = new byte[200 * 4 * 150];

        Assert.Equal(OperationStatus.Done, window.Decode(first, output, 800, out _));
        Array.Clear(output);
        Assert.Equal(OperationStatus.Done, window.Decode(second, output, 800, out GlzHeader header));

        Assert.Equal(1ul, header.Id);
        Assert.True(second.Length * 20 < first.Length, $"second {second.Length} vs first {first.Length}");
        AssertDecodedEquals(px, d, output);
    }

    [Fact]
    public void Decode_ReferenceToImageNotYetReceived_ReturnsNeedMoreDataThenSucceeds()
    {
        using var dict = new GlzEncoderDictionary();
        using var window = new GlzDecoderWindow();
        var (px, d) = Image(SpiceBitmapFormat.ThirtyTwoBit, TestImages.Kind.Text, 150, 90, seed: 5);
        byte[] first = Encode(dict, px, d);
        byte[] second = Encode(dict, px, d);
        var output = new byte[150 * 4 * 90];

        Assert.Equal(OperationStatus.NeedMoreData, window.Decode(second, output, 600, out _));
        Assert.Equal(OperationStatus.Done, window.Decode(first, output, 600, out _));
        Assert.Equal(OperationStatus.Done, window.Decode(second, output, 600, out _));
        AssertDecodedEquals(px, d, output);
    }

    [Fact]
    public void Encode_SmallWindow_EvictsOldImagesAndDecoderReleasesThem()
    {
        const int W = 100, H = 60;
        using var dict = new GlzEncoderDictionary(new GlzEncoderOptions { WindowPixels = W * H * 2 });
        using var window = new GlzDecoderWindow();
        var output = new byte[W * 4 * H];
        for (int i = 0; i < 8; i++)
        {
            var (px, d) = Image(SpiceBitmapFormat.ThirtyTwoBit, TestImages.Kind.Text, W, H, seed: i % 3);
            byte[] glz = Encode(dict, px, d);
            Assert.Equal(OperationStatus.Done, window.Decode(glz, output, W * 4, out GlzHeader header));
            Assert.True(header.WindowHeadDistance <= 1, $"head distance {header.WindowHeadDistance}");
            AssertDecodedEquals(px, d, output);
        }

        Assert.True(window.Count <= 3, $"window holds {window.Count} images");
        Assert.Throws<ArgumentException>(() => dict.Encode(new byte[W * 4 * H * 3], BitmapDescriptor.Rgb32(W, H * 3), new byte[1 << 20], out _, out _));
    }

    [Fact]
    public void RandomSequences_EncoderMirrorEqualsDecoderWindowAfterEveryImage()
    {
        var rnd = new Random(2024);
        var formats = new[] { SpiceBitmapFormat.ThirtyTwoBit, SpiceBitmapFormat.Rgba, SpiceBitmapFormat.TwentyFourBit, SpiceBitmapFormat.SixteenBit };
        var kinds = Enum.GetValues<TestImages.Kind>();
        for (int run = 0; run < 4; run++)
        {
            using var dict = new GlzEncoderDictionary(new GlzEncoderOptions { WindowPixels = rnd.Next(20_000, 60_000) });
            using var window = new GlzDecoderWindow(new GlzDecoderOptions { FlipToTopDown = false });
            for (int i = 0; i < 30; i++)
            {
                int w = rnd.Next(1, 4) * 40 + rnd.Next(0, 3), h = rnd.Next(1, 5) * 20;
                var (px, d) = Image(formats[rnd.Next(formats.Length)], kinds[rnd.Next(kinds.Length)], w, h, seed: rnd.Next(3), topDown: rnd.Next(2) == 0);
                byte[] glz = Encode(dict, px, d);
                var output = new byte[w * 4 * h];

                Assert.Equal(OperationStatus.Done, window.Decode(glz, output, w * 4, out GlzHeader header));

                ReadOnlySpan<uint> mirror = dict.MirroredPixels(header.Id);
                Assert.True(System.Runtime.InteropServices.MemoryMarshal.AsBytes(mirror).SequenceEqual(output), $"run {run} image {i}: mirror differs");
                var topDown = d with { TopDown = true };
                AssertDecodedEquals(px, topDown, output);
            }
        }
    }

    [Fact]
    public async Task Decode_ForgedHugeIds_DoNotHang()
    {
        await Timed.RunAsync(() =>
        {
            var (px, d) = Image(SpiceBitmapFormat.ThirtyTwoBit, TestImages.Kind.Text, 64, 64, seed: 1);
            using var dict = new GlzEncoderDictionary();
            byte[] glz = Encode(dict, px, d);
            using var window = new GlzDecoderWindow(new GlzDecoderOptions { MaxWindowPixels = 64 * 64 * 2 });
            var output = new byte[64 * 4 * 64];
            foreach (ulong id in new[] { 5ul, 1ul << 40, (1ul << 62) + 7, ulong.MaxValue - 3, 3ul })
            {
                BinaryPrimitives.WriteUInt64BigEndian(glz.AsSpan(21), id);
                BinaryPrimitives.WriteUInt32BigEndian(glz.AsSpan(29), uint.MaxValue);
                OperationStatus status = window.Decode(glz, output, 256, out _);
                Assert.True(status is OperationStatus.Done or OperationStatus.InvalidData);
            }

            Assert.True(window.Count <= 2);
        });
    }

    [Fact]
    public void Encode_DestinationTooSmall_DoesNotConsumeTheId()
    {
        using var dict = new GlzEncoderDictionary();
        var (px, d) = Image(SpiceBitmapFormat.ThirtyTwoBit, TestImages.Kind.Noise, 64, 64, seed: 1);

        Assert.Equal(OperationStatus.DestinationTooSmall, dict.Encode(px, d, new byte[100], out _, out _));

        Assert.Equal(0ul, dict.NextImageId);
    }

    [Fact]
    public void ZlibGlz_RoundTrip_InflatesToTheGlzStream()
    {
        using var dict = new GlzEncoderDictionary();
        using var window = new GlzDecoderWindow();
        var (px, d) = Image(SpiceBitmapFormat.ThirtyTwoBit, TestImages.Kind.Text, 300, 200, seed: 2);
        byte[] glz = Encode(dict, px, d);
        var zlib = new byte[ZlibGlzCodec.GetMaxEncodedLength(glz.Length)];
        Assert.Equal(OperationStatus.Done, ZlibGlzCodec.Compress(glz, zlib, out int zlen));
        Assert.Equal(0x78, zlib[0]);
        var inflated = new byte[glz.Length];

        Assert.Equal(OperationStatus.Done, ZlibGlzCodec.Decompress(zlib.AsSpan(0, zlen), glz.Length, inflated, out int n));

        Assert.Equal(glz, inflated.AsSpan(0, n).ToArray());
        var output = new byte[300 * 4 * 200];
        Assert.Equal(OperationStatus.Done, window.Decode(inflated, output, 1200, out _));
        AssertDecodedEquals(px, d, output);
        Assert.Equal(OperationStatus.InvalidData, ZlibGlzCodec.Decompress(zlib.AsSpan(0, zlen), glz.Length + 1, new byte[glz.Length + 1], out _));
        Assert.Equal(OperationStatus.InvalidData, ZlibGlzCodec.Decompress(zlib.AsSpan(0, zlen / 2), glz.Length, inflated, out _));
    }

    [Fact]
    public void ZlibGlz_PresetDictionaryOrCorruptBlock_ReturnsInvalidDataNotZLibException()
    {
        // Found by fuzzing (docs/fuzzing.md): zlib's own errors reach .NET as ZLibException (an IOException), not
        // InvalidDataException. FDICT set (0x78 0xBB): zlib asks for a preset dictionary SPICE never has.
        byte[] presetDictionary = [0x78, 0xBB, 0, 0, 0, 1, 0x03, 0x00];
        Assert.Equal(OperationStatus.InvalidData, ZlibGlzCodec.Decompress(presetDictionary, 64, new byte[64], out _));
        byte[] reservedBlockType = [0x78, 0x9C, 0x07, 0x00];
        Assert.Equal(OperationStatus.InvalidData, ZlibGlzCodec.Decompress(reservedBlockType, 64, new byte[64], out _));
    }

    [Fact]
    public void Decode_HeaderClaims60000Squared_ReturnsInvalidData()
    {
        var s = new byte[64];
        BinaryPrimitives.WriteUInt32BigEndian(s, LzHeader.Magic);
        BinaryPrimitives.WriteUInt32BigEndian(s.AsSpan(4), LzHeader.Version);
        s[8] = (byte)LzImageType.Rgb32;
        BinaryPrimitives.WriteUInt32BigEndian(s.AsSpan(9), 60000);
        BinaryPrimitives.WriteUInt32BigEndian(s.AsSpan(13), 60000);
        using var window = new GlzDecoderWindow();

        long before = GC.GetAllocatedBytesForCurrentThread();
        OperationStatus status = window.Decode(s, new byte[16], 16, out _);

        Assert.Equal(OperationStatus.InvalidData, status);
        Assert.True(GC.GetAllocatedBytesForCurrentThread() - before < 1024);
    }

    [Fact]
    public async Task Decode_TruncatedAndGarbage_ReturnInvalidData()
    {
        await Timed.RunAsync(() =>
        {
            using var dict = new GlzEncoderDictionary();
            var (px, d) = Image(SpiceBitmapFormat.Rgba, TestImages.Kind.Text, 90, 40, seed: 1);
            byte[] glz = Encode(dict, px, d);
            var output = new byte[90 * 4 * 40];
            for (int cut = 0; cut < glz.Length; cut++)
            {
                using var window = new GlzDecoderWindow();
                Assert.Equal(OperationStatus.InvalidData, window.Decode(glz.AsSpan(0, cut), output, 360, out _));
            }

            var rnd = new Random(5);
            using var w2 = new GlzDecoderWindow();
            for (int i = 0; i < 2000; i++)
            {
                byte[] g = new byte[rnd.Next(33, 2000)];
                rnd.NextBytes(g);
                glz.AsSpan(0, GlzHeader.Size).CopyTo(g);
                BinaryPrimitives.WriteUInt64BigEndian(g.AsSpan(21), (ulong)i + 1000);
                OperationStatus status = w2.Decode(g, output, 360, out _);
                Assert.True(status is OperationStatus.InvalidData or OperationStatus.NeedMoreData or OperationStatus.Done);
            }

            byte[] pure = new byte[300];
            rnd.NextBytes(pure);
            Assert.Equal(OperationStatus.InvalidData, w2.Decode(pure, output, 360, out _));
        });
    }
}
