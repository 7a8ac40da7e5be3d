using BenchmarkDotNet.Attributes;
using Accel.Core.Spice.Canvas;
using Spice.Codecs;
using Spice.Codecs.Tests.Support;
using B = Accel.Core.Tests.Spice.Canvas.DisplayMessageBuilder;

namespace Accel.Benchmarks;

/// <summary>
/// The server edge's canvas applying display messages to a 1024×768 primary surface, steady state (the image pool warm):
/// a full-screen solid fill, a small clipped fill, a full-screen DRAW_COPY of a QUIC photo (parse, decode, blit), a
/// full-screen DRAW_COPY of a 32-bit BITMAP, a COPY_BITS scroll, a line of 1 bpp text and a stroked polyline.
/// </summary>
[MemoryDiagnoser]
public class CanvasBenchmarks
{
    private const int Width = 1024, Height = 768;
    private const ushort Fill = 302, Copy = 304, Stroke = 310, Text = 311, CopyBits = 104, SurfaceCreate = 314;

    private DisplayCanvas _canvas = null!;
    private byte[] _fillFull = null!, _fillSmall = null!, _copyQuic = null!, _copyBitmap = null!, _copyBits = null!, _text = null!, _stroke = null!;

    [GlobalSetup]
    public void Setup()
    {
        _canvas = new DisplayCanvas();
        _canvas.Apply(SurfaceCreate, B.SurfaceCreate(0, Width, Height));
        _fillFull = new B().Base(0, 0, 0, Width, Height).U8(1).U32(0x336699).U16(8).NoMask().Build();
        _fillSmall = new B().Base(0, 100, 100, 300, 120, (0, 0, 250, 768), (260, 0, 1024, 768)).U8(1).U32(0x112233).U16(8).NoMask().Build();

        var photo = TestImages.Rgb32(TestImages.Kind.Plasma, Width, Height, seed: 42);
        var payload = new byte[SpiceImageEncoder.GetMaxPayloadLength(SpiceImageType.Quic, Width, Height, SpiceBitmapFormat.ThirtyTwoBit)];
        SpiceImageEncoder.Encode(SpiceImageType.Quic, photo, BitmapDescriptor.Rgb32(Width, Height), payload, out int written, out _);
        var quicImage = new B().Bytes(BitConverter.GetBytes(7UL)).U8((int)SpiceImageType.Quic).U8(0).U32(Width).U32(Height).Bytes(payload[..written]).Build();
        _copyQuic = CopyMessage(quicImage);
        _copyBitmap = CopyMessage(B.Bitmap32(8, Width, Height, (x, y) => (uint)((x * 31) ^ (y * 17))));
        _copyBits = new B().Base(0, 0, 0, Width, Height - 16).I32(0).I32(16).Build();
        _text = TextLine(80);
        _stroke = Polyline(64);
    }

    [GlobalCleanup]
    public void Cleanup() => _canvas.Dispose();

    [Benchmark(Baseline = true)]
    public void FillFullScreen() => _canvas.Apply(Fill, _fillFull);

    [Benchmark]
    public void FillSmallClipped() => _canvas.Apply(Fill, _fillSmall);

    [Benchmark]
    public void CopyQuicFullScreen() => _canvas.Apply(Copy, _copyQuic);

    [Benchmark]
    public void CopyBitmapFullScreen() => _canvas.Apply(Copy, _copyBitmap);

    [Benchmark]
    public void CopyBitsScroll() => _canvas.Apply(CopyBits, _copyBits);

    [Benchmark]
    public void TextLine80Glyphs() => _canvas.Apply(Text, _text);

    [Benchmark]
    public void StrokePolyline64() => _canvas.Apply(Stroke, _stroke);

    private static byte[] CopyMessage(byte[] image) =>
        new B().Base(0, 0, 0, Width, Height).Pointer(image).Rect(0, 0, Width, Height).U16(8).U8(1).NoMask().Build();

    /// <summary>80 glyphs of 8×16 at 1 bpp in a row, with a back area (a terminal line).</summary>
    private static byte[] TextLine(int glyphs)
    {
        var str = new B().U16(glyphs).U8(1);
        var rng = new Random(3);
        for (int i = 0; i < glyphs; i++)
        {
            var rows = new byte[16];
            rng.NextBytes(rows);
            str.I32(20 + (i * 8)).I32(300).I32(0).I32(-12).U16(8).U16(16).Bytes(rows);
        }

        return new B().Base(0, 20, 288, 20 + (glyphs * 8), 304).Pointer(str.Build()).Rect(20, 288, 20 + (glyphs * 8), 304)
            .U8(1).U32(0xFFFFFF).U8(1).U32(0x000000).U16(8).U16(8).Build();
    }

    private static byte[] Polyline(int points)
    {
        var path = new B().U32(1).U8(1 | 2).U32((uint)points);
        for (int i = 0; i < points; i++)
        {
            path.I32((16 + (i * 15)) << 4).I32((100 + ((i % 2) * 400)) << 4);
        }

        return new B().Base(0, 0, 0, Width, Height).Pointer(path.Build()).U8(0).U8(1).U32(0x00FF00).U16(8).U16(8).Build();
    }
}
