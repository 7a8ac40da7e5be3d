using System.Runtime.InteropServices;
using Accel.Core.Spice;
using Accel.Core.Spice.Canvas;
using Accel.Core.Spice.Protocol;
using CsCheck;
using B = Accel.Core.Tests.Spice.Canvas.DisplayMessageBuilder;

namespace Accel.Core.Tests.Spice.Canvas;

public sealed class CanvasStrokeTextTests
{
    private const ushort Stroke = 310, Text = 311, SurfaceCreate = 314;
    private const int RopPut = 8, RopXor = 64;
    private const byte Begin = 1, End = 2, Close = 8, Bezier = 16;

    private static DisplayCanvas NewCanvas(int width = 32, int height = 32)
    {
        var canvas = new DisplayCanvas();
        canvas.Apply(SurfaceCreate, B.SurfaceCreate(0, width, height));
        return canvas;
    }

    private static uint Px(DisplayCanvas canvas, int x, int y)
    {
        Assert.True(canvas.TryGetSurface(0, out var s));
        return MemoryMarshal.Cast<byte, uint>(s.Row(y))[x] & 0xFFFFFF;
    }

    private static HashSet<(int, int)> SetPixels(DisplayCanvas canvas)
    {
        Assert.True(canvas.TryGetSurface(0, out var s));
        var set = new HashSet<(int, int)>();
        for (int y = 0; y < s.Height; y++)
        {
            for (int x = 0; x < s.Width; x++)
            {
                if (Px(canvas, x, y) != 0)
                {
                    set.Add((x, y));
                }
            }
        }

        return set;
    }

    /// <summary>A path: segments of (flags, points in pixels; fix28.4 on the wire).</summary>
    private static byte[] Path(params (byte Flags, (double X, double Y)[] Points)[] segments)
    {
        var b = new B().U32((uint)segments.Length);
        foreach (var (flags, points) in segments)
        {
            b.U8(flags).U32((uint)points.Length);
            foreach (var (x, y) in points)
            {
                b.I32((int)Math.Round(x * 16)).I32((int)Math.Round(y * 16));
            }
        }

        return b.Build();
    }

    private static byte[] StrokeMessage(byte[] path, uint color, int rop = RopPut, int[]? style = null, bool startWithGap = false,
        (int L, int T, int R, int B)? box = null, params (int L, int T, int R, int B)[] clip)
    {
        var (l, t, r, bo) = box ?? (0, 0, 32, 32);
        var b = new B().Base(0, l, t, r, bo, clip).Pointer(path);
        if (style is null)
        {
            b.U8(0);
        }
        else
        {
            var s = new B();
            foreach (int v in style)
            {
                s.I32(v << 4);
            }

            b.U8(8 | (startWithGap ? 4 : 0)).U8(style.Length).Pointer(s.Build());
        }

        return b.U8(1).U32(color).U16(rop).U16(RopPut).Build();
    }

    /// <summary>X's zero-width line loop, step by step (the canvas uses its closed form): the pixels of one segment.</summary>
    private static IEnumerable<(int, int)> ReferenceSegment(int x1, int y1, int x2, int y2)
    {
        int adx = Math.Abs(x2 - x1), ady = Math.Abs(y2 - y1), sx = x2 < x1 ? -1 : 1, sy = y2 < y1 ? -1 : 1;
        bool xMajor = adx > ady;
        int octant = (sx < 0 ? 4 : 0) | (sy < 0 ? 2 : 0) | (xMajor ? 0 : 1);
        int bias = (0xD8 >> octant) & 1;
        int major = xMajor ? adx : ady, minor = xMajor ? ady : adx;
        int e = -major - bias, x = x1, y = y1;
        for (int n = 0; n < major; n++)
        {
            yield return (x, y);
            e += 2 * minor;
            if (e >= 0)
            {
                e -= 2 * major;
                if (xMajor)
                {
                    y += sy;
                }
                else
                {
                    x += sx;
                }
            }

            if (xMajor)
            {
                x += sx;
            }
            else
            {
                y += sy;
            }
        }
    }

    [Fact]
    public void Stroke_HorizontalLine_IsEndpointExclusive()
    {
        using var canvas = NewCanvas();
        canvas.Apply(Stroke, StrokeMessage(Path((Begin | End, [(2, 5), (9, 5)])), 0x00FF00));
        Assert.Equal(Enumerable.Range(2, 7).Select(x => (x, 5)).ToHashSet(), SetPixels(canvas));
        Assert.Equal(0x00FF00u, Px(canvas, 2, 5));
    }

    [Fact]
    public void Stroke_AnyLineInOrAcrossTheSurface_EqualsXsZeroWidthLineLoop()
    {
        Gen.Select(Gen.Int[-20, 50], Gen.Int[-20, 50], Gen.Int[-20, 50], Gen.Int[-20, 50]).Sample((x1, y1, x2, y2) =>
        {
            using var canvas = NewCanvas();
            canvas.Apply(Stroke, StrokeMessage(Path((Begin | End, [(x1, y1), (x2, y2)])), 0xFFFFFF));
            var expected = ReferenceSegment(x1, y1, x2, y2).Where(p => p.Item1 is >= 0 and < 32 && p.Item2 is >= 0 and < 32).ToHashSet();
            return expected.SetEquals(SetPixels(canvas));
        }, iter: 400);
    }

    [Fact]
    public void Stroke_FixedPointCoordinates_RoundAsSpiceCommon()
    {
        Assert.Equal(3, CanvasStroke.FixToInt((3 << 4) + 8)); // exactly one half rounds down
        Assert.Equal(4, CanvasStroke.FixToInt((3 << 4) + 9));
        Assert.Equal(-2, CanvasStroke.FixToInt(-24)); // −1.5
    }

    [Fact]
    public void Stroke_ClosedSquareWithXor_DrawsEveryPixelOnceAndTwiceRestores()
    {
        using var canvas = NewCanvas();
        var square = Path((Begin | End | Close, [(4, 4), (12, 4), (12, 12), (4, 12)]));
        canvas.Apply(Stroke, StrokeMessage(square, 0x0000FF, RopXor));
        var outline = SetPixels(canvas);
        Assert.Equal(32, outline.Count); // 4 sides × 8 pixels, each corner once
        Assert.All(outline, p => Assert.Equal(0x0000FFu, Px(canvas, p.Item1, p.Item2)));
        canvas.Apply(Stroke, StrokeMessage(square, 0x0000FF, RopXor));
        Assert.Empty(SetPixels(canvas));
    }

    [Fact]
    public void Stroke_StraightBezier_EqualsTheLineAndCurvedBezierPassesItsMidpoint()
    {
        using var straight = NewCanvas();
        straight.Apply(Stroke, StrokeMessage(Path((Begin, [(2, 2)]), (Bezier | End, [(8, 2), (16, 2), (24, 2)])), 0xFFFFFF));
        Assert.Equal(Enumerable.Range(2, 22).Select(x => (x, 2)).ToHashSet(), SetPixels(straight));

        using var curved = NewCanvas();
        curved.Apply(Stroke, StrokeMessage(Path((Begin | Bezier | End, [(2, 28), (2, 2), (28, 2), (28, 28)])), 0xFFFFFF));
        var pixels = SetPixels(curved);
        Assert.Contains((2, 28), pixels);
        Assert.DoesNotContain((28, 28), pixels); // the last point of a stroke is not drawn

        // B(½) = (p0 + 3p1 + 3p2 + p3) / 8 = (15, 8.5): the polyline passes within a pixel of it.
        Assert.Contains(pixels, p => Math.Abs(p.Item1 - 15) <= 1 && Math.Abs(p.Item2 - 8.5) <= 1);
    }

    [Fact]
    public void Stroke_Dashed_AlternatesOnAndOffAlongTheLine()
    {
        using var canvas = NewCanvas();
        canvas.Apply(Stroke, StrokeMessage(Path((Begin | End, [(0, 3), (12, 3)])), 0xFFFFFF, style: [2, 3]));
        Assert.Equal(new[] { 0, 1, 5, 6, 10, 11 }.Select(x => (x, 3)).ToHashSet(), SetPixels(canvas));

        using var gap = NewCanvas();
        gap.Apply(Stroke, StrokeMessage(Path((Begin | End, [(0, 3), (12, 3)])), 0xFFFFFF, style: [2, 3, 4], startWithGap: true));
        Assert.NotEmpty(SetPixels(gap));
        Assert.NotEqual(SetPixels(canvas), SetPixels(gap));
    }

    [Fact]
    public void Stroke_ClipAndBox_LimitThePixels()
    {
        using var canvas = NewCanvas();
        canvas.Apply(Stroke, StrokeMessage(Path((Begin | End, [(0, 4), (30, 4)])), 0xFFFFFF, box: (0, 0, 20, 32), clip: [(5, 0, 32, 32)]));
        Assert.Equal(Enumerable.Range(5, 15).Select(x => (x, 4)).ToHashSet(), SetPixels(canvas));
    }

    [Fact]
    public void Stroke_BadInput_IsAProtocolError()
    {
        using var canvas = NewCanvas();
        Assert.Throws<SpiceProtocolException>(() => canvas.Apply(Stroke, StrokeMessage(Path((Bezier, [(1, 1), (2, 2), (3, 3)])), 1)));
        Assert.Throws<SpiceProtocolException>(() => canvas.Apply(Stroke, StrokeMessage(Path((Begin | Bezier, [(1, 1), (2, 2)])), 1)));
        Assert.Throws<SpiceProtocolException>(() => canvas.Apply(Stroke, StrokeMessage(Path((Begin, [(1, 1), (9, 9)])), 1, style: [0, 0])));
        var truncated = StrokeMessage(Path((Begin | End, [(1, 1), (9, 9)])), 1);
        Assert.Throws<SpiceProtocolException>(() => canvas.Apply(Stroke, truncated[..^8]));
        var huge = Path((Begin | End, [(1, 1), (9, 9)]));
        huge[5] = 0xFF; // the segment claims far more points than the message holds
        Assert.Throws<SpiceProtocolException>(() => canvas.Apply(Stroke, StrokeMessage(huge, 1)));
    }

    /// <summary>A raster glyph string: glyphs of (x, y, width, height, rows bottom-up as on the wire).</summary>
    private static byte[] Glyphs(byte flags, params (int X, int Y, int W, int H, byte[] Data)[] glyphs)
    {
        var b = new B().U16(glyphs.Length).U8(flags);
        foreach (var g in glyphs)
        {
            b.I32(g.X).I32(g.Y).I32(0).I32(0).U16(g.W).U16(g.H).Bytes(g.Data);
        }

        return b.Build();
    }

    private static byte[] TextMessage(byte[] str, uint fore, (int L, int T, int R, int B) back = default, uint backColor = 0,
        int foreMode = RopPut, params (int L, int T, int R, int B)[] clip) =>
        new B().Base(0, 0, 0, 32, 32, clip).Pointer(str).Rect(back.L, back.T, back.R, back.B)
            .U8(1).U32(fore).U8(1).U32(backColor).U16(foreMode).U16(RopPut).Build();

    [Fact]
    public void Text_OneBitGlyph_RowsBottomUpMostSignificantBitFirst()
    {
        using var canvas = NewCanvas();

        // 10×2 glyph at (3, 4): the wire's first row is the glyph's bottom row.
        byte[] rows = [0b1000_0000, 0b0100_0000, 0b1100_0000, 0b0000_0000];
        canvas.Apply(Text, TextMessage(Glyphs(1, (3, 4, 10, 2, rows)), 0xFF8800));
        Assert.Equal(new[] { (3, 4), (4, 4), (3, 5), (12, 5) }.ToHashSet(), SetPixels(canvas));
        Assert.Equal(0xFF8800u, Px(canvas, 12, 5));
    }

    [Fact]
    public void Text_FourAndEightBitGlyphs_BlendOverAndOverlapByMaximum()
    {
        using var canvas = NewCanvas();
        byte[] a4 = [0x8F]; // pixel 0 alpha 0x80, pixel 1 alpha 0xF0
        canvas.Apply(Text, TextMessage(Glyphs(2, (1, 1, 2, 1, a4)), 0xFFFFFF));
        Assert.Equal(0x808080u, Px(canvas, 1, 1));
        Assert.Equal(0xF0F0F0u, Px(canvas, 2, 1));

        using var a8 = NewCanvas();
        a8.Apply(Text, TextMessage(Glyphs(4, (5, 5, 2, 1, [0x40, 0x40]), (6, 5, 2, 1, [0xFF, 0x20])), 0xFFFFFF));
        Assert.Equal(0x404040u, Px(a8, 5, 5));
        Assert.Equal(0xFFFFFFu, Px(a8, 6, 5)); // max(0x40, 0xFF)
        Assert.Equal(0x202020u, Px(a8, 7, 5));

        // spice-common's A4 quirk (seen in spice-gtk): an odd pixel whose byte has its high nibble set replaces the
        // mask value with its low nibble, even when that is smaller.
        using var quirk = NewCanvas();
        quirk.Apply(Text, TextMessage(Glyphs(2, (2, 1, 1, 1, [0xF0]), (1, 1, 2, 1, [0x12])), 0xFFFFFF));
        Assert.Equal(0x101010u, Px(quirk, 1, 1));
        Assert.Equal(0x202020u, Px(quirk, 2, 1));
    }

    [Fact]
    public void Text_BackArea_FilledWithinClipThenGlyphsOnTop()
    {
        using var canvas = NewCanvas();
        canvas.Apply(Text, TextMessage(Glyphs(1, (4, 4, 1, 1, [0x80])), 0x0000FF, back: (2, 2, 10, 10), backColor: 0x00FF00, clip: [(0, 0, 8, 32)]));
        Assert.Equal(0x0000FFu, Px(canvas, 4, 4));
        Assert.Equal(0x00FF00u, Px(canvas, 7, 9));
        Assert.Equal(0u, Px(canvas, 8, 5)); // back area outside the clip
        Assert.Equal(0u, Px(canvas, 1, 1));

        // With a back area spice-common draws only with the fore mode PUT.
        using var refused = NewCanvas();
        refused.Apply(Text, TextMessage(Glyphs(1, (4, 4, 1, 1, [0x80])), 0x0000FF, back: (2, 2, 10, 10), backColor: 0x00FF00, foreMode: RopXor));
        Assert.Empty(SetPixels(refused));
    }

    [Fact]
    public void Text_VectorGlyphsOrBadStrings_AreUnsupportedOrErrors()
    {
        using var canvas = NewCanvas();
        canvas.Apply(Text, TextMessage(new B().U16(1).U8(0).Build(), 0xFFFFFF));
        Assert.Equal(1, canvas.Unsupported);
        Assert.Throws<SpiceProtocolException>(() => canvas.Apply(Text, TextMessage(Glyphs(1, (0, 0, 16, 4, new byte[3])), 1)));
        Assert.Throws<SpiceProtocolException>(() => canvas.Apply(Text, TextMessage(new B().U16(0).U8(1).Build(), 1)));
        Assert.Throws<SpiceProtocolException>(() => canvas.Apply(Text, TextMessage(Glyphs(1, (int.MaxValue, 0, 1, 1, [0x80])), 1)));
    }
}
