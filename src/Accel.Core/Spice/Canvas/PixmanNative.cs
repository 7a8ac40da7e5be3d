using System.Runtime.InteropServices;

namespace Accel.Core.Spice.Canvas;

/// <summary>pixman_box32_t.</summary>
[StructLayout(LayoutKind.Sequential)]
internal struct PixmanBox
{
    public int X1;
    public int Y1;
    public int X2;
    public int Y2;

    public PixmanBox(int x1, int y1, int x2, int y2)
    {
        X1 = x1;
        Y1 = y1;
        X2 = x2;
        Y2 = y2;
    }

    public readonly int Width => X2 - X1;

    public readonly int Height => Y2 - Y1;
}

/// <summary>pixman_region32_t: extents and a pointer to pixman's own rectangle data (owned by pixman).</summary>
[StructLayout(LayoutKind.Sequential)]
internal struct PixmanRegion32
{
    public PixmanBox Extents;
    public nint Data;
}

/// <summary>pixman_transform_t: a 3×3 matrix of 16.16 fixed-point numbers.</summary>
[StructLayout(LayoutKind.Sequential)]
internal unsafe struct PixmanTransform
{
    public fixed int Matrix[9];

    public const int One = 1 << 16;

    /// <summary>x' = sx·x + tx, y' = sy·y + ty (all 16.16), as pixman_transform_init_scale then translate.</summary>
    public static PixmanTransform ScaleTranslate(int sx, int sy, int tx, int ty)
    {
        var t = default(PixmanTransform);
        t.Matrix[0] = sx;
        t.Matrix[2] = tx;
        t.Matrix[4] = sy;
        t.Matrix[5] = ty;
        t.Matrix[8] = One;
        return t;
    }

    public static PixmanTransform Identity => ScaleTranslate(One, One, 0, 0);
}

/// <summary>pixman_color_t (16 bits per channel).</summary>
[StructLayout(LayoutKind.Sequential)]
internal struct PixmanColor
{
    public ushort Red;
    public ushort Green;
    public ushort Blue;
    public ushort Alpha;
}

/// <summary>Format codes (PIXMAN_FORMAT(bpp, type, a, r, g, b)).</summary>
internal static class PixmanFormat
{
    public const uint A8R8G8B8 = 0x20028888;
    public const uint X8R8G8B8 = 0x20020888;
    public const uint X1R5G5B5 = 0x10020555;
    public const uint R5G6B5 = 0x10020565;
    public const uint A8 = 0x08018000;
    public const uint A1 = 0x01011000;

    public static int Bpp(uint format) => (int)(format >> 24);
}

internal static class PixmanOp
{
    public const int Src = 1;
    public const int Over = 3;
}

/// <summary>
/// Debian's libpixman-1 (the rasteriser spice-gtk's canvas is built on), by direct P/Invoke. Images made here wrap
/// memory the caller owns; pixman never frees it.
/// </summary>
internal static unsafe partial class PixmanNative
{
    private const string Lib = "libpixman-1.so.0";

    [LibraryImport(Lib, EntryPoint = "pixman_image_create_bits")]
    public static partial nint CreateBits(uint format, int width, int height, void* bits, int strideBytes);

    [LibraryImport(Lib, EntryPoint = "pixman_image_create_solid_fill")]
    public static partial nint CreateSolidFill(PixmanColor* color);

    [LibraryImport(Lib, EntryPoint = "pixman_image_unref")]
    public static partial int Unref(nint image);

    [LibraryImport(Lib, EntryPoint = "pixman_image_composite32")]
    public static partial void Composite32(int op, nint src, nint mask, nint dest, int srcX, int srcY, int maskX, int maskY, int destX, int destY,
        int width, int height);

    [LibraryImport(Lib, EntryPoint = "pixman_image_set_clip_region32")]
    public static partial int SetClipRegion32(nint image, PixmanRegion32* region);

    [LibraryImport(Lib, EntryPoint = "pixman_image_set_transform")]
    public static partial int SetTransform(nint image, PixmanTransform* transform);

    [LibraryImport(Lib, EntryPoint = "pixman_image_set_filter")]
    public static partial int SetFilter(nint image, int filter, int* parameters, int count);

    [LibraryImport(Lib, EntryPoint = "pixman_image_set_repeat")]
    public static partial void SetRepeat(nint image, int repeat);

    [LibraryImport(Lib, EntryPoint = "pixman_image_set_component_alpha")]
    public static partial void SetComponentAlpha(nint image, int componentAlpha);

    [LibraryImport(Lib, EntryPoint = "pixman_region32_init")]
    public static partial void RegionInit(PixmanRegion32* region);

    [LibraryImport(Lib, EntryPoint = "pixman_region32_init_rect")]
    public static partial void RegionInitRect(PixmanRegion32* region, int x, int y, uint width, uint height);

    [LibraryImport(Lib, EntryPoint = "pixman_region32_init_rects")]
    public static partial int RegionInitRects(PixmanRegion32* region, PixmanBox* boxes, int count);

    [LibraryImport(Lib, EntryPoint = "pixman_region32_init_from_image")]
    public static partial void RegionInitFromImage(PixmanRegion32* region, nint image);

    [LibraryImport(Lib, EntryPoint = "pixman_region32_fini")]
    public static partial void RegionFini(PixmanRegion32* region);

    [LibraryImport(Lib, EntryPoint = "pixman_region32_intersect")]
    public static partial int RegionIntersect(PixmanRegion32* dest, PixmanRegion32* a, PixmanRegion32* b);

    [LibraryImport(Lib, EntryPoint = "pixman_region32_intersect_rect")]
    public static partial int RegionIntersectRect(PixmanRegion32* dest, PixmanRegion32* source, int x, int y, uint width, uint height);

    [LibraryImport(Lib, EntryPoint = "pixman_region32_inverse")]
    public static partial int RegionInverse(PixmanRegion32* dest, PixmanRegion32* source, PixmanBox* bounds);

    [LibraryImport(Lib, EntryPoint = "pixman_region32_translate")]
    public static partial void RegionTranslate(PixmanRegion32* region, int x, int y);

    [LibraryImport(Lib, EntryPoint = "pixman_region32_rectangles")]
    public static partial PixmanBox* RegionRectangles(PixmanRegion32* region, out int count);

    [LibraryImport(Lib, EntryPoint = "pixman_region32_not_empty")]
    public static partial int RegionNotEmpty(PixmanRegion32* region);

    [LibraryImport(Lib, EntryPoint = "pixman_fill")]
    public static partial int Fill(uint* bits, int strideWords, int bpp, int x, int y, int width, int height, uint value);

    /// <summary>True when the library loads (the canvas needs it).</summary>
    public static bool IsAvailable => NativeLibrary.TryLoad(Lib, out _);
}
