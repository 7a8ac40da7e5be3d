using System.Buffers;
using BenchmarkDotNet.Attributes;
using Accel.Core.Spice.Canvas;
using Accel.Core.Spice.Display;
using Spice.Codecs.Tests.Support;
using B = Accel.Core.Tests.Spice.Canvas.DisplayMessageBuilder;

namespace Accel.Benchmarks;

/// <summary>
/// The server edge's other half of a canvas update: writing a 1024×768 refresh of the canvas (the DRAW_COPY the WAN
/// gets) as the canvas policy does — a desktop-like picture as LZ, a photo-like one as QUIC (lossless) and as JPEG at
/// two qualities of the ladder. With <see cref="CanvasBenchmarks.CopyQuicFullScreen"/> (applying the draw) this is the
/// server edge's CPU per full-screen update; bytes per operation are printed at setup, for CPU per megabyte sent.
/// </summary>
[MemoryDiagnoser]
public class CanvasRefreshBenchmarks
{
    private const int Width = 1024, Height = 768;
    private const ushort Copy = 304, SurfaceCreate = 314;

    private readonly ArrayBufferWriter<byte> _output = new(8 << 20);
    private DisplayCanvas _desktop = null!, _photo = null!;
    private PixmanImage _desktopSurface = null!, _photoSurface = null!;
    private static readonly DamageRect s_full = new(0, 0, Width, Height);

    [GlobalSetup]
    public void Setup()
    {
        _desktop = Filled(TestImages.Kind.Text, out _desktopSurface);
        _photo = Filled(TestImages.Kind.Plasma, out _photoSurface);
        foreach (var (name, surface, quality) in new[] { ("desktop LZ", _desktopSurface, 0), ("photo QUIC", _photoSurface, 0), ("photo JPEG 75", _photoSurface, 75), ("photo JPEG 30", _photoSurface, 30) })
        {
            _output.ResetWrittenCount();
            CanvasRefreshWriter.Write(_output, 0, surface, s_full, quality, out bool lossy);
            Console.WriteLine($"// {name}: {_output.WrittenCount} bytes per full-screen refresh (lossy: {lossy})");
        }
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _desktop.Dispose();
        _photo.Dispose();
    }

    [Benchmark(Baseline = true)]
    public long RefreshDesktopLz() => Write(_desktopSurface, 0);

    [Benchmark]
    public long RefreshPhotoQuic() => Write(_photoSurface, 0);

    [Benchmark]
    public long RefreshPhotoJpeg75() => Write(_photoSurface, 75);

    [Benchmark]
    public long RefreshPhotoJpeg30() => Write(_photoSurface, 30);

    private long Write(PixmanImage surface, int quality)
    {
        _output.ResetWrittenCount();
        return CanvasRefreshWriter.Write(_output, 0, surface, s_full, quality, out _);
    }

    private static DisplayCanvas Filled(TestImages.Kind kind, out PixmanImage surface)
    {
        var canvas = new DisplayCanvas();
        canvas.Apply(SurfaceCreate, B.SurfaceCreate(0, Width, Height));
        var pixels = TestImages.Rgb32(kind, Width, Height, seed: 42);
        var image = B.Bitmap32(9, Width, Height, (x, y) => BitConverter.ToUInt32(pixels, ((y * Width) + x) * 4) & 0xFFFFFF);
        canvas.Apply(Copy, new B().Base(0, 0, 0, Width, Height).Pointer(image).Rect(0, 0, Width, Height).U16(8).U8(0).NoMask().Build());
        if (!canvas.TryGetSurface(0, out surface!))
        {
            throw new InvalidOperationException("no primary surface");
        }

        return canvas;
    }
}
