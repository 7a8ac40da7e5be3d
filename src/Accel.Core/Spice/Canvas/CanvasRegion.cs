using System.Runtime.InteropServices;

namespace Accel.Core.Spice.Canvas;

/// <summary>A pixman_region32_t in native memory, reused across draws (init/fini per use, no managed allocation).</summary>
internal sealed unsafe class CanvasRegion : IDisposable
{
    private PixmanRegion32* _region;

    public CanvasRegion()
    {
        _region = (PixmanRegion32*)NativeMemory.AllocZeroed((nuint)sizeof(PixmanRegion32));
        PixmanNative.RegionInit(_region);
    }

    public PixmanRegion32* Native => _region;

    public bool IsEmpty => PixmanNative.RegionNotEmpty(_region) == 0;

    public PixmanBox Extents => _region->Extents;

    public void SetRect(int x, int y, int width, int height)
    {
        PixmanNative.RegionFini(_region);
        PixmanNative.RegionInitRect(_region, x, y, (uint)Math.Max(0, width), (uint)Math.Max(0, height));
    }

    public void SetEmpty()
    {
        PixmanNative.RegionFini(_region);
        PixmanNative.RegionInit(_region);
    }

    public void IntersectRect(int x, int y, int width, int height) =>
        PixmanNative.RegionIntersectRect(_region, _region, x, y, (uint)Math.Max(0, width), (uint)Math.Max(0, height));

    public void Intersect(CanvasRegion other) => PixmanNative.RegionIntersect(_region, _region, other._region);

    /// <summary>Replaces this region with the union of <paramref name="boxes"/> (SPICE clip rectangles).</summary>
    public void SetRects(ReadOnlySpan<PixmanBox> boxes)
    {
        PixmanNative.RegionFini(_region);
        fixed (PixmanBox* b = boxes)
        {
            if (PixmanNative.RegionInitRects(_region, b, boxes.Length) == 0)
            {
                PixmanNative.RegionInit(_region);
            }
        }
    }

    /// <summary>The set pixels of an a1 image.</summary>
    public void SetFromImage(nint a1Image)
    {
        PixmanNative.RegionFini(_region);
        PixmanNative.RegionInitFromImage(_region, a1Image);
    }

    public void Inverse(PixmanBox bounds) => PixmanNative.RegionInverse(_region, _region, &bounds);

    public void Translate(int dx, int dy) => PixmanNative.RegionTranslate(_region, dx, dy);

    public ReadOnlySpan<PixmanBox> Rectangles
    {
        get
        {
            var boxes = PixmanNative.RegionRectangles(_region, out int n);
            return new ReadOnlySpan<PixmanBox>(boxes, n);
        }
    }

    public void Dispose()
    {
        if (_region != null)
        {
            PixmanNative.RegionFini(_region);
            NativeMemory.Free(_region);
            _region = null;
        }
    }
}
