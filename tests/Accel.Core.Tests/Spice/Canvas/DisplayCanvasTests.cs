using System.Diagnostics;
using System.Runtime.InteropServices;
using Accel.Core.Spice;
using Accel.Core.Spice.Canvas;
using Accel.Core.Spice.Protocol;
using B = Accel.Core.Tests.Spice.Canvas.DisplayMessageBuilder;

namespace Accel.Core.Tests.Spice.Canvas;

public sealed class DisplayCanvasTests(ITestOutputHelper output)
{
    private const ushort Fill = 302, Opaque = 303, Copy = 304, Blend = 305, Blackness = 306, Whiteness = 307, Invers = 308, Rop3 = 309;
    private const ushort Transparent = 312, AlphaBlend = 313, Composite = 318, CopyBits = 104, InvalList = 105, SurfaceCreate = 314, SurfaceDestroy = 315;
    private const int RopPut = 8, RopXor = 64, RopAnd = 32;

    private static DisplayCanvas NewCanvas(int width = 16, int height = 16)
    {
        var canvas = new DisplayCanvas();
        canvas.Apply(SurfaceCreate, B.SurfaceCreate(0, width, height));
        return canvas;
    }

    private static uint Px(DisplayCanvas canvas, int x, int y, uint surface = 0)
    {
        Assert.True(canvas.TryGetSurface(surface, out var s));
        return MemoryMarshal.Cast<byte, uint>(s.Row(y))[x] & 0xFFFFFF;
    }

    private static byte[] SolidFill(int l, int t, int r, int b, uint color, int rop = RopPut, params (int, int, int, int)[] clip) =>
        new B().Base(0, l, t, r, b, clip).U8(1).U32(color).U16(rop).NoMask().Build();

    [Fact]
    public void Fill_SolidWithClipRects_PaintsOnlyInsideBoxAndClip()
    {
        using var canvas = NewCanvas();
        canvas.Apply(Fill, SolidFill(2, 2, 10, 10, 0x112233, RopPut, (0, 0, 5, 16)));
        Assert.Equal(0x112233u, Px(canvas, 2, 2));
        Assert.Equal(0x112233u, Px(canvas, 4, 9));
        Assert.Equal(0u, Px(canvas, 5, 5)); // outside the clip
        Assert.Equal(0u, Px(canvas, 1, 1)); // outside the box
    }

    [Fact]
    public void Fill_XorAndRopDescriptors_CombineWithDestination()
    {
        using var canvas = NewCanvas();
        canvas.Apply(Fill, SolidFill(0, 0, 4, 4, 0x00FF0F));
        canvas.Apply(Fill, SolidFill(0, 0, 2, 4, 0x0F0F0F, RopXor));
        canvas.Apply(Fill, SolidFill(2, 0, 4, 4, 0x0000FF, RopAnd));
        Assert.Equal(0x0FF000u, Px(canvas, 0, 0));
        Assert.Equal(0x00000Fu, Px(canvas, 3, 3));
    }

    [Fact]
    public void Fill_WithInvertedMask_PaintsWhereMaskBitIsClear()
    {
        using var canvas = NewCanvas();
        var mask = B.Mask1(8, 8, (x, _) => x < 4);
        canvas.Apply(Fill, new B().Base(0, 0, 0, 8, 8).U8(1).U32(0xABCDEF).U16(RopPut).Mask(mask, invert: true).Build());
        Assert.Equal(0u, Px(canvas, 1, 1));
        Assert.Equal(0xABCDEFu, Px(canvas, 5, 1));
    }

    [Fact]
    public void BlacknessWhitenessInvers_SetClearAndInvert()
    {
        using var canvas = NewCanvas();
        canvas.Apply(Whiteness, new B().Base(0, 0, 0, 8, 8).NoMask().Build());
        canvas.Apply(Blackness, new B().Base(0, 0, 0, 4, 8).NoMask().Build());
        canvas.Apply(Invers, new B().Base(0, 0, 0, 8, 4).NoMask().Build());
        Assert.Equal(0xFFFFFFu, Px(canvas, 1, 1));
        Assert.Equal(0x000000u, Px(canvas, 5, 1));
        Assert.Equal(0x000000u, Px(canvas, 1, 5));
        Assert.Equal(0xFFFFFFu, Px(canvas, 5, 5));
    }

    private static byte[] CopyMessage(ushort type, byte[] image, (int L, int T, int R, int B) box, (int L, int T, int R, int B) area, int rop = RopPut, byte scale = 1) =>
        new B().Base(0, box.L, box.T, box.R, box.B).Pointer(image).Rect(area.L, area.T, area.R, area.B).U16(rop).U8(scale).NoMask().Build();

    [Fact]
    public void Copy_CachedBitmapThenFromCache_DrawsTheSameImageTwice()
    {
        using var canvas = NewCanvas();
        var image = B.Bitmap32(42, 4, 4, (x, y) => (uint)(x * 16 + y), descriptorFlags: 1);
        canvas.Apply(Copy, CopyMessage(Copy, image, (0, 0, 4, 4), (0, 0, 4, 4)));
        canvas.Apply(Copy, CopyMessage(Copy, B.FromCache(42, 4, 4, lossless: true), (8, 8, 12, 12), (0, 0, 4, 4)));
        Assert.Equal(1, canvas.Images.CachedImages);
        Assert.Equal(0x31u, Px(canvas, 3, 1));
        Assert.Equal(0x31u, Px(canvas, 11, 9));
        canvas.Apply(InvalList, new B().U16(1).U8(1).Bytes(BitConverter.GetBytes(42UL)).Build());
        Assert.Equal(0, canvas.Images.CachedImages);
    }

    [Fact]
    public void Copy_SourceAreaOffsetAndScaleNearest_MapsPixels()
    {
        using var canvas = NewCanvas();
        var image = B.Bitmap32(1, 4, 4, (x, y) => (uint)(0x100000 * x + y));
        canvas.Apply(Copy, CopyMessage(Copy, image, (0, 0, 2, 2), (2, 2, 4, 4)));
        Assert.Equal(0x200002u, Px(canvas, 0, 0));
        Assert.Equal(0x300003u, Px(canvas, 1, 1));
        canvas.Apply(Copy, CopyMessage(Copy, image, (8, 8, 16, 16), (0, 0, 4, 4)));
        Assert.Equal(0x000000u, Px(canvas, 9, 9));
        Assert.Equal(0x300003u, Px(canvas, 15, 15));
    }

    [Fact]
    public void Blend_XorRop_CombinesSourceAndDestination()
    {
        using var canvas = NewCanvas();
        canvas.Apply(Fill, SolidFill(0, 0, 4, 4, 0xFF00FF));
        canvas.Apply(Blend, CopyMessage(Blend, B.Bitmap32(2, 4, 4, (_, _) => 0x0F0F0F), (0, 0, 4, 4), (0, 0, 4, 4), RopXor));
        Assert.Equal(0xF00FF0u, Px(canvas, 2, 2));
    }

    [Fact]
    public void Opaque_SourceThenBrushAndRop_AppliesBrushOverSource()
    {
        using var canvas = NewCanvas();
        var msg = new B().Base(0, 0, 0, 4, 4).Pointer(B.Bitmap32(3, 4, 4, (_, _) => 0x00FF00)).Rect(0, 0, 4, 4)
            .U8(1).U32(0x0000FF).U16(RopXor).U8(1).NoMask().Build();
        canvas.Apply(Opaque, msg);
        Assert.Equal(0x00FFFFu, Px(canvas, 1, 1));
    }

    [Fact]
    public void Rop3_SrcAndPattern_UsesTernaryTable()
    {
        using var canvas = NewCanvas();
        canvas.Apply(Fill, SolidFill(0, 0, 4, 4, 0x0000FF));

        // 0xCA = D ^ (P & (S ^ D)): pattern bits choose source, elsewhere destination.
        var msg = new B().Base(0, 0, 0, 4, 4).Pointer(B.Bitmap32(4, 4, 4, (_, _) => 0x00FF00)).Rect(0, 0, 4, 4)
            .U8(1).U32(0x00F0F0).U8(0xCA).U8(1).NoMask().Build();
        canvas.Apply(Rop3, msg);
        Assert.Equal(0x00F00Fu, Px(canvas, 0, 0));
    }

    [Fact]
    public void Transparent_KeyColour_IsNotCopied()
    {
        using var canvas = NewCanvas();
        canvas.Apply(Fill, SolidFill(0, 0, 4, 4, 0x123456));
        var msg = new B().Base(0, 0, 0, 4, 4).Pointer(B.Bitmap32(5, 4, 4, (x, _) => x < 2 ? 0xFF00FFu : 0x00AA00u)).Rect(0, 0, 4, 4)
            .U32(0xFF00FF).U32(0xFF00FF).Build();
        canvas.Apply(Transparent, msg);
        Assert.Equal(0x123456u, Px(canvas, 0, 0));
        Assert.Equal(0x00AA00u, Px(canvas, 3, 0));
    }

    [Fact]
    public void AlphaBlend_HalfAlpha_MixesWithDestination()
    {
        using var canvas = NewCanvas();
        canvas.Apply(Fill, SolidFill(0, 0, 4, 4, 0x000000));
        var msg = new B().Base(0, 0, 0, 4, 4).U8(0).U8(0x80).Pointer(B.Bitmap32(6, 4, 4, (_, _) => 0xFFFFFF)).Rect(0, 0, 4, 4).Build();
        canvas.Apply(AlphaBlend, msg);
        Assert.Equal(0x808080u, Px(canvas, 1, 1));
    }

    [Fact]
    public void Composite_OverFromOffscreenSurface_CopiesThroughClip()
    {
        using var canvas = NewCanvas();
        canvas.Apply(SurfaceCreate, B.SurfaceCreate(5, 4, 4, 96, 0));
        canvas.Apply(Fill, new B().Base(5, 0, 0, 4, 4).U8(1).U32(0xFF336699).U16(RopPut).NoMask().Build());
        uint flags = 3 /* OVER */;
        var msg = new B().Base(0, 2, 2, 6, 6, (2, 2, 4, 6)).U32(flags).Pointer(B.Surface(5, 4, 4)).U16(0).U16(0).U16(0).U16(0).Build();
        canvas.Apply(Composite, msg);
        Assert.Equal(0x336699u, Px(canvas, 3, 3));
        Assert.Equal(0u, Px(canvas, 5, 3)); // clipped
        canvas.Apply(SurfaceDestroy, new B().U32(5).Build());
        Assert.Equal(1, canvas.SurfaceCount);
    }

    [Fact]
    public void CopyBits_OverlappingScrollDown_MovesRowsWithoutSmearing()
    {
        using var canvas = NewCanvas();
        for (int y = 0; y < 8; y++)
        {
            canvas.Apply(Fill, SolidFill(0, y, 16, y + 1, (uint)(y + 1)));
        }

        canvas.Apply(CopyBits, new B().Base(0, 0, 2, 16, 10).I32(0).I32(0).Build());
        for (int y = 2; y < 10; y++)
        {
            Assert.Equal((uint)(y - 1), Px(canvas, 7, y));
        }
    }

    [Fact]
    public void Errors_BadInput_IsAProtocolError()
    {
        using var canvas = NewCanvas();
        Assert.Throws<SpiceProtocolException>(() => canvas.Apply(Fill, new B().Base(9, 0, 0, 1, 1).U8(0).U16(RopPut).NoMask().Build()));
        Assert.Throws<SpiceProtocolException>(() => canvas.Apply(Fill, SolidFill(0, 0, 1, 1, 0)[..10]));
        Assert.Throws<SpiceProtocolException>(() => canvas.Apply(Copy, CopyMessage(Copy, B.FromCache(77, 2, 2), (0, 0, 2, 2), (0, 0, 2, 2))));
        Assert.Throws<SpiceProtocolException>(() => canvas.Apply(SurfaceCreate, B.SurfaceCreate(0, 8, 8)));
        Assert.Throws<SpiceProtocolException>(() => canvas.Apply(SurfaceCreate, B.SurfaceCreate(3, 100000, 8)));
        Assert.Throws<SpiceProtocolException>(() => canvas.Apply(SurfaceCreate, B.SurfaceCreate(3, 8, 8, format: 7)));
        var hostile = CopyMessage(Copy, B.Bitmap32(1, 2, 2, (_, _) => 0), (0, 0, 2, 2), (0, 0, 2, 2));
        hostile[21] = 0xFF; // source pointer far outside the body
        Assert.Throws<SpiceProtocolException>(() => canvas.Apply(Copy, hostile));
        using var limited = new DisplayCanvas(new CanvasLimits { MaxSurfaces = 1 });
        limited.Apply(SurfaceCreate, B.SurfaceCreate(0, 8, 8));
        Assert.Throws<SpiceProtocolException>(() => limited.Apply(SurfaceCreate, B.SurfaceCreate(1, 8, 8, flags: 0)));
    }

    [Fact]
    public void FullScreenUpdate_1024x768_MeasuresCanvasTime()
    {
        using var canvas = NewCanvas(1024, 768);
        var msg = CopyMessage(Copy, B.Bitmap32(9, 1024, 768, (x, y) => (uint)(x * 31 + y * 17)), (0, 0, 1024, 768), (0, 0, 1024, 768));
        canvas.Apply(Copy, msg);
        var sw = Stopwatch.StartNew();
        const int Rounds = 20;
        for (int i = 0; i < Rounds; i++)
        {
            canvas.Apply(Copy, msg);
        }

        double ms = sw.Elapsed.TotalMilliseconds / Rounds;
        output.WriteLine($"1024x768 32-bit BITMAP DRAW_COPY: {ms:F2} ms per update");
        Assert.Equal((uint)(5 * 31 + 7 * 17), Px(canvas, 5, 7));
        Assert.True(ms < 50, $"{ms} ms per full-screen update");
    }
}
