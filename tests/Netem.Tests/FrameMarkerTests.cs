using System.Buffers;
using NetemBench.Probe;
using NetemDesk;
using Spice.Codecs;
using Spice.Codecs.Jpeg;

namespace Netem.Tests;

/// <summary>The in-frame marker the probe reads from the client's picture, and the tile check of a complete photo.</summary>
public sealed class FrameMarkerTests
{
    private const long Now = 1_795_477_000_123L;

    [Theory]
    [InlineData(0u, 0)]
    [InlineData(1u, 15)]
    [InlineData(0xFFFFFu, 7)]
    [InlineData(0x5A5A5u, 3)]
    public void Marker_StampedThenRead_GivesCodeAndTag(uint code, int tag)
    {
        var pixels = Background(400, 100, 5);
        FrameMarker.Stamp(pixels, 400, 37, 21, code, tag);

        Assert.True(FrameMarker.TryRead(pixels, 400, 37, 21, out var readCode, out var readTag));
        Assert.Equal((code, tag), (readCode, readTag));
    }

    [Theory]
    [InlineData(0, 0)]
    [InlineData(3, 5)]
    [InlineData(8, 8)]
    [InlineData(13, 2)]
    [InlineData(5, 11)]
    public void Marker_AfterJpegQuality30_StillReadsWhereverTheJpegBlocksFall(int x, int y)
    {
        // A photo-like frame around the strip, encoded as the edge's canvas does for a thin link (4:2:0, quality 30).
        const int W = 352, H = 96;
        var frame = Background(W, H, 17);
        foreach (var (code, tag) in new[] { (FrameMarker.TimeCode(Now), 0), (0xABCDEu, 9), (0x12345u, 14) })
        {
            FrameMarker.Stamp(frame, W, x, y, code, tag);
            var decoded = JpegRoundTrip(frame, W, H, 30);

            Assert.True(FrameMarker.TryRead(decoded, W, x, y, out var readCode, out var readTag), $"not read at ({x}, {y})");
            Assert.Equal((code, tag), (readCode, readTag));
        }
    }

    [Fact]
    public void Marker_HalfDrawnOverThePrevious_DoesNotRead()
    {
        const int W = 320, H = 48;
        var older = Background(W, H, 3);
        var newer = Background(W, H, 3);
        FrameMarker.Stamp(older, W, 0, 0, 0x11111u, 0);
        FrameMarker.Stamp(newer, W, 0, 0, 0x11111u ^ 0xF0F0Fu, 0);

        // A frame still arriving: its top rows (a band) or left columns are new, the rest still shows the older one.
        foreach (var splitRow in new[] { 8, 16, 24 })
        {
            var mixed = (uint[])older.Clone();
            newer.AsSpan(0, splitRow * W).CopyTo(mixed);
            Assert.False(FrameMarker.TryRead(mixed, W, 0, 0, out _, out _), $"read with rows 0–{splitRow} new");
        }

        foreach (var splitColumn in new[] { 40, 72, 136, 200 })
        {
            var mixed = (uint[])older.Clone();
            for (var y = 0; y < H; y++)
            {
                newer.AsSpan((y * W) + splitColumn, W - splitColumn).CopyTo(mixed.AsSpan((y * W) + splitColumn));
            }

            Assert.False(FrameMarker.TryRead(mixed, W, 0, 0, out _, out _), $"read with columns from {splitColumn} new");
        }

        // Photo content where the strip should be is no marker either.
        Assert.False(FrameMarker.TryRead(Background(W, H, 9), W, 0, 0, out _, out _));
    }

    [Fact]
    public void Marker_EveryBlockBoundaryMix_NeverReadsAsAThirdFrame()
    {
        // Two frames whose strips differ, mixed at every block column: each result reads as one of the two, or not at all.
        const int W = FrameMarker.Width, H = FrameMarker.Height;
        var rng = new Random(5);
        var thirds = 0;
        for (var trial = 0; trial < 200; trial++)
        {
            uint a = (uint)rng.Next(1 << 20), b = (uint)rng.Next(1 << 20);
            var mixed = new uint[W * H];
            var other = new uint[W * H];
            FrameMarker.Stamp(mixed, W, 0, 0, a, 0);
            FrameMarker.Stamp(other, W, 0, 0, b, 0);
            var split = FrameMarker.Block * rng.Next(1, FrameMarker.Columns);
            for (var y = 0; y < H; y++)
            {
                other.AsSpan((y * W) + split, W - split).CopyTo(mixed.AsSpan((y * W) + split));
            }

            if (FrameMarker.TryRead(mixed, W, 0, 0, out var code, out _) && code != a && code != b)
            {
                thirds++;
            }
        }

        // The CRC-8 lets about 1 in 256 mixes through; 200 trials may see one, not more.
        Assert.InRange(thirds, 0, 2);
    }

    [Theory]
    [InlineData(0L)]
    [InlineData(36L)]
    [InlineData(1_800_000L)]
    public void Marker_TimeCode_GivesTheDrawnTimeWithin4Ms(long age)
    {
        var drawn = FrameMarker.DrawnUnixMs(FrameMarker.TimeCode(Now), Now + age);
        Assert.NotNull(drawn);
        Assert.InRange(drawn!.Value, Now - 4, Now);
    }

    [Fact]
    public void Marker_AcrossTheWrapOfTheCode_AgeStaysSmallAndFutureIsNoFrame()
    {
        const long Wrap = (1L << 20) * 4;
        var drawn = (Wrap * 1_000_000) - 8;
        Assert.Equal(0u, FrameMarker.TimeCode(drawn + 8));
        Assert.Equal(drawn, FrameMarker.DrawnUnixMs(FrameMarker.TimeCode(drawn), drawn + 20));
        Assert.Null(FrameMarker.DrawnUnixMs(FrameMarker.TimeCode(Now + 400), Now));
    }

    [Fact]
    public void PhotoTiles_JpegQuality30_NearestPhotoOfEveryTileIsItsOwn()
    {
        // The slideshow's completeness check takes, per 64×64 tile, the photo the tile is nearest to (PSNR) and needs
        // the threshold too. After JPEG q30 (the lowest the edge's canvas sends) every tile must still be nearest to its
        // own photo, and above the threshold. Measured on the real photos at the screen size.
        const int W = 1024, H = 768;
        var photos = Enumerable.Range(0, ProbeFrames.SlideshowPhotos).Select(i => Photos.Render(W, H, Photos.SlideshowSeed(i))).ToArray();
        var lossyWorst = double.MaxValue;
        var marginWorst = double.MaxValue;
        var otherBest = double.MinValue;
        for (var i = 0; i < photos.Length; i++)
        {
            var lossy = JpegRoundTrip(photos[i], W, H, 30);
            foreach (var (x, y) in Tiles(W, H))
            {
                var own = TilePsnr(lossy, photos[i], W, x, y);
                var other = Enumerable.Range(0, photos.Length).Where(j => j != i).Max(j => TilePsnr(lossy, photos[j], W, x, y));
                lossyWorst = Math.Min(lossyWorst, own);
                marginWorst = Math.Min(marginWorst, own - other);
                otherBest = Math.Max(otherBest, other);
            }
        }

        TestContext.Current.SendDiagnosticMessage($"tile PSNR after JPEG q30: own photo worst {lossyWorst:0.0} dB, another photo best {otherBest:0.0} dB, margin worst {marginWorst:0.0} dB");
        Assert.True(lossyWorst >= ProbePicture.TileMatchDb + 2, $"JPEG q30 tile at {lossyWorst:0.0} dB");
        Assert.True(marginWorst >= 1, $"a JPEG q30 tile is only {marginWorst:0.0} dB nearer its own photo than another");
    }

    [Fact]
    public void Animation_ComposedFrame_CarriesItsMarkerAndMoves()
    {
        const int W = 320, H = 240;
        var texture = AnimationFrames.Texture(W, H);
        var first = new uint[W * H];
        var later = new uint[W * H];
        AnimationFrames.Compose(texture, W, H, 1000, first);
        AnimationFrames.Compose(texture, W, H, 1100, later);

        Assert.True(FrameMarker.TryRead(first, W, 0, 0, out var code, out _));
        Assert.Equal(1000u, code);
        Assert.NotEqual(AnimationFrames.Offset(1000), AnimationFrames.Offset(1100));
        Assert.InRange(ProbePicture.Psnr(first, later), 0, 30);
        Assert.Equal(double.PositiveInfinity, ProbePicture.Psnr(first, first));
    }

    private static double TilePsnr(uint[] a, uint[] b, int width, int x, int y)
    {
        var shown = new uint[ProbePicture.Tile * ProbePicture.Tile];
        var intended = new uint[shown.Length];
        for (var row = 0; row < ProbePicture.Tile; row++)
        {
            a.AsSpan(((y + row) * width) + x, ProbePicture.Tile).CopyTo(shown.AsSpan(row * ProbePicture.Tile));
            b.AsSpan(((y + row) * width) + x, ProbePicture.Tile).CopyTo(intended.AsSpan(row * ProbePicture.Tile));
        }

        return ProbePicture.Psnr(shown, intended);
    }

    private static IEnumerable<(int X, int Y)> Tiles(int width, int height)
    {
        for (var y = 0; y + ProbePicture.Tile <= height; y += ProbePicture.Tile)
        {
            for (var x = 0; x + ProbePicture.Tile <= width; x += ProbePicture.Tile)
            {
                yield return (x, y);
            }
        }
    }

    private static uint[] Background(int width, int height, int seed) => Photos.Render(width, height, seed);

    private static uint[] JpegRoundTrip(uint[] pixels, int width, int height, int quality)
    {
        Assert.True(JpegCodec.IsSupported, "libturbojpeg is missing (eng/setup.sh installs it)");
        var bytes = System.Runtime.InteropServices.MemoryMarshal.AsBytes(pixels.AsSpan());
        var jpeg = new byte[JpegCodec.GetMaxEncodedLength(width, height)];
        Assert.Equal(OperationStatus.Done, JpegCodec.Encode(bytes, BitmapDescriptor.Rgb32(width, height), jpeg, out var written,
            new JpegEncoderOptions { Quality = quality }));
        var decoded = new uint[width * height];
        Assert.Equal(OperationStatus.Done, JpegCodec.Decode(jpeg.AsSpan(0, written), width, height,
            System.Runtime.InteropServices.MemoryMarshal.AsBytes(decoded.AsSpan()), width * 4));
        return decoded;
    }
}
