using System.Buffers;
using Accel.Core.Spice.Protocol;

namespace Accel.Core.Spice.Canvas;

/// <summary>
/// DRAW_STROKE as spice-common's canvas draws it: every path becomes polylines (bezier segments subdivided until the
/// curve is within half a pixel of a straight line), each polyline is drawn as zero-width X11 lines (Bresenham with
/// X's thin-line bias, each segment without its last point: cosmetic lines are endpoint-exclusive), the spans are
/// clipped to box ∩ clip and painted with the brush (solid, none = black, pattern) and the foreground rop.
/// Styled (dashed) lines step the dash pattern along the same pixels (see the README: spice-gtk draws them with X's
/// width-1 dash code, which is not reproduced).
/// </summary>
internal sealed unsafe class CanvasStroke : IDisposable
{
    private const byte PathBegin = 1 << 0;
    private const byte PathEnd = 1 << 1;
    private const byte PathClose = 1 << 3;
    private const byte PathBezier = 1 << 4;
    private const byte LineStartWithGap = 1 << 2;
    private const byte LineStyled = 1 << 3;

    // X's default thin-line bias: octants 2, 3, 4 and 5 (as octant codes 3, 7, 6 and 4) prefer the axial step on a tie.
    private const int ZeroLineBias = (1 << 3) | (1 << 7) | (1 << 6) | (1 << 4);

    private readonly CanvasDrawing _drawing;
    private readonly CanvasImages _images;
    /// <summary>
    /// Points one stroke may produce, curves flattened. A bezier that never flattens (coordinates whose products
    /// overflow the flatness test) would otherwise split to the depth bound on both halves, 2^64 pieces: found by
    /// fuzzing (docs/fuzzing.md). A real stroke has hundreds; every point costs at most a line across the surface.
    /// </summary>
    internal const int MaxPathPoints = 1 << 16;

    private (int X, int Y)[] _points = ArrayPool<(int, int)>.Shared.Rent(64);
    private int _count;
    private int _budget;
    private readonly byte[] _dash = new byte[256];
    private int _dashCount;
    private int _dashTotal;
    private int _dashIndex;
    private int _dashOffset;
    private Paint _paint;
    private PixmanBox* _clip;
    private int _clipCount;

    public CanvasStroke(CanvasDrawing drawing, CanvasImages images)
    {
        _drawing = drawing;
        _images = images;
    }

    public void Draw(ReadOnlySpan<byte> body)
    {
        var r = new CanvasReader(body);
        var b = r.Base();
        var dest = _drawing.Surface(b.SurfaceId);
        uint path = r.U32();
        byte flags = r.U8();
        int styleCount = 0;
        uint style = 0;
        if ((flags & LineStyled) != 0)
        {
            styleCount = r.U8();
            style = r.U32();
        }

        var brush = r.Brush();
        int foreMode = r.U16();
        r.U16(); // back_mode: spice-common's canvas does not use it
        _drawing.Target(body, b, dest, default);
        if (_drawing.Region.IsEmpty)
        {
            _drawing.Touch(body, brush);
            return;
        }

        _dashCount = (flags & LineStyled) != 0 ? ReadStyle(body, style, styleCount, (flags & LineStartWithGap) != 0) : 0;
        using var pattern = brush.Type == SpiceBrush.Pattern_ ? _images.Get(body, brush.Pattern) : default;
        var clip = _drawing.Region.Rectangles;
        _clip = (PixmanBox*)System.Runtime.CompilerServices.Unsafe.AsPointer(ref System.Runtime.InteropServices.MemoryMarshal.GetReference(clip));
        _clipCount = clip.Length;
        _paint = new Paint(dest, RasterOps.FromDescriptor(foreMode, RasterOps.InversBrush, RasterOps.InversDest),
            brush.Type == SpiceBrush.Solid ? brush.Color : 0, pattern.Image, brush.X, brush.Y);
        try
        {
            _budget = MaxPathPoints;
            Walk(body, path);
        }
        finally
        {
            _paint = default;
            _clip = null;
            _clipCount = 0;
            _count = 0;
        }
    }

    public void Dispose() => ArrayPool<(int, int)>.Shared.Return(_points);

    /// <summary>The dash list in pixels (fix28.4 rounded, kept in a byte as X's dash lists are).</summary>
    private int ReadStyle(ReadOnlySpan<byte> body, uint pointer, int count, bool startWithGap)
    {
        if (count == 0)
        {
            SpiceThrow.Protocol(SpiceProtocolError.InvalidValue, "a styled line without a style");
        }

        var s = new CanvasReader(body).At(pointer, count * 4, "a line style");
        int total = 0;
        for (int i = 0; i < count; i++)
        {
            // With START_WITH_GAP the first entry moves to the end and the pattern starts one entry in.
            int at = startWithGap ? (i + count - 1) % count : i;
            _dash[at] = (byte)FixToInt(s.I32());
            total += _dash[at];
        }

        if (total == 0)
        {
            SpiceThrow.Protocol(SpiceProtocolError.InvalidValue, "a line style of zero length");
        }

        _dashCount = count;
        _dashTotal = total;
        _dashIndex = 0;
        _dashOffset = 0;
        if (startWithGap)
        {
            StepDash(_dash[0]);
        }

        return count;
    }

    private void Walk(ReadOnlySpan<byte> body, uint pointer)
    {
        var r = new CanvasReader(body).At(pointer, 4, "a path");
        uint segments = r.U32();
        int dashStartIndex = _dashIndex, dashStartOffset = _dashOffset;
        for (uint i = 0; i < segments; i++)
        {
            byte flags = r.U8();
            uint count = r.U32();
            if (count > (uint)(body.Length - r.Position) / 8)
            {
                SpiceThrow.Truncated("a path segment");
            }

            int n = (int)count, p = 0;
            if ((flags & PathBegin) != 0 && n > 0)
            {
                Flush(dashStartIndex, dashStartOffset);
                Append(FixToInt(r.I32()), FixToInt(r.I32()));
                p++;
            }

            if ((flags & PathBezier) != 0)
            {
                if ((n - p) % 3 != 0 || (_count == 0 && n > p))
                {
                    SpiceThrow.Protocol(SpiceProtocolError.InvalidValue, "a bezier path segment without a start point or with a partial curve");
                }

                for (; p + 2 < n; p += 3)
                {
                    var last = _points[_count - 1];
                    (long X, long Y) p0 = ((long)last.X << 4, (long)last.Y << 4);
                    (long X, long Y) p1 = (r.I32(), r.I32()), p2 = (r.I32(), r.I32()), p3 = (r.I32(), r.I32());
                    Subdivide(p0, p1, p2, p3, 0);
                }
            }
            else
            {
                for (; p < n; p++)
                {
                    Append(FixToInt(r.I32()), FixToInt(r.I32()));
                }
            }

            if ((flags & PathEnd) != 0)
            {
                if ((flags & PathClose) != 0 && _count > 0)
                {
                    Append(_points[0].X, _points[0].Y);
                }

                Flush(dashStartIndex, dashStartOffset);
            }
        }

        Flush(dashStartIndex, dashStartOffset);
    }

    /// <summary>spice-common's rule: straight once both control points deviate from the chord by under half a pixel.</summary>
    private void Subdivide((long X, long Y) p0, (long X, long Y) p1, (long X, long Y) p2, (long X, long Y) p3, int depth)
    {
        long a2 = Dot(p1.X - p0.X, p1.Y - p0.Y, p1.X - p0.X, p1.Y - p0.Y);
        long b2 = Dot(p3.X - p0.X, p3.Y - p0.Y, p3.X - p0.X, p3.Y - p0.Y);
        long c2 = Dot(p2.X - p3.X, p2.Y - p3.Y, p2.X - p3.X, p2.Y - p3.Y);
        long ab = Dot(p1.X - p0.X, p1.Y - p0.Y, p3.X - p0.X, p3.Y - p0.Y);
        long cb = Dot(p2.X - p3.X, p2.Y - p3.Y, p0.X - p3.X, p0.Y - p3.Y);
        long h1 = ((a2 * b2) - (ab * ab)) >> 3;
        long h2 = ((c2 * b2) - (cb * cb)) >> 3;

        // Depth bound: a hostile curve cannot recurse without end (64 halvings reach single fixed-point units). A
        // curve within one pixel is its end point: with a chord under 4 units b2 is 0 and "h < b2" never holds, so
        // such a curve split to the depth bound on both halves (2^64 pieces; found by fuzzing, docs/fuzzing.md).
        if ((h1 < b2 && h2 < b2) || depth >= 64 || WithinOnePixel(p0, p1, p2, p3))
        {
            Append(FixToInt((int)p3.X), FixToInt((int)p3.Y));
            return;
        }

        var p01 = Mid(p0, p1);
        var p12 = Mid(p1, p2);
        var p23 = Mid(p2, p3);
        var p012 = Mid(p01, p12);
        var p123 = Mid(p12, p23);
        var p0123 = Mid(p012, p123);
        Subdivide(p0, p01, p012, p0123, depth + 1);
        Subdivide(p0123, p123, p23, p3, depth + 1);
    }

    private static bool WithinOnePixel((long X, long Y) p0, (long X, long Y) p1, (long X, long Y) p2, (long X, long Y) p3) =>
        Math.Max(Math.Max(p0.X, p1.X), Math.Max(p2.X, p3.X)) - Math.Min(Math.Min(p0.X, p1.X), Math.Min(p2.X, p3.X)) < 16
        && Math.Max(Math.Max(p0.Y, p1.Y), Math.Max(p2.Y, p3.Y)) - Math.Min(Math.Min(p0.Y, p1.Y), Math.Min(p2.Y, p3.Y)) < 16;

    private static long Dot(long x1, long y1, long x2, long y2) => ((x1 * x2) + (y1 * y2)) >> 4;

    // C's integer division truncates toward zero; so does C#'s.
    private static (long X, long Y) Mid((long X, long Y) a, (long X, long Y) b) => ((int)(a.X + b.X) / 2, (int)(a.Y + b.Y) / 2);

    /// <summary>fix28.4 to int, rounding as spice-common does (a fraction over one half rounds up).</summary>
    internal static int FixToInt(int fix) => (fix >> 4) + ((fix & 0xF) > 8 ? 1 : 0);

    private void Append(int x, int y)
    {
        if (--_budget < 0)
        {
            SpiceThrow.Protocol(SpiceProtocolError.InvalidValue, $"a stroke path of more than {MaxPathPoints} points");
        }

        if (_count == _points.Length)
        {
            var bigger = ArrayPool<(int, int)>.Shared.Rent(_points.Length * 2);
            _points.AsSpan(0, _count).CopyTo(bigger);
            ArrayPool<(int, int)>.Shared.Return(_points);
            _points = bigger;
        }

        _points[_count++] = (x, y);
    }

    private void Flush(int dashStartIndex, int dashStartOffset)
    {
        if (_count == 0)
        {
            return;
        }

        // Each polyline starts the dash pattern afresh, as X's dashed lines do.
        _dashIndex = dashStartIndex;
        _dashOffset = dashStartOffset;
        for (int i = 1; i < _count; i++)
        {
            Segment(_points[i - 1], _points[i]);
        }

        _count = 0;
    }

    /// <summary>
    /// One zero-width segment without its last pixel. Pixel n along the major axis has the minor coordinate advanced
    /// k(n) = floor((2·minor·n − major − bias) / (2·major)) + 1 times, the closed form of X's Bresenham loop, so only
    /// the pixels inside the target's extents are visited.
    /// </summary>
    private void Segment((int X, int Y) from, (int X, int Y) to)
    {
        long adx = Math.Abs((long)to.X - from.X), ady = Math.Abs((long)to.Y - from.Y);
        int sx = to.X < from.X ? -1 : 1, sy = to.Y < from.Y ? -1 : 1;
        bool xMajor = adx > ady;
        int octant = (sx < 0 ? 4 : 0) | (sy < 0 ? 2 : 0) | (xMajor ? 0 : 1);
        long bias = (ZeroLineBias >> octant) & 1;
        long major = xMajor ? adx : ady, minor = xMajor ? ady : adx;
        if (major == 0)
        {
            return;
        }

        var ext = _drawing.Region.Extents;
        int m0 = xMajor ? from.X : from.Y, c0 = xMajor ? from.Y : from.X;
        int sm = xMajor ? sx : sy, sc = xMajor ? sy : sx;
        int lo = xMajor ? ext.X1 : ext.Y1, hi = xMajor ? ext.X2 : ext.Y2;
        int clo = xMajor ? ext.Y1 : ext.X1, chi = xMajor ? ext.Y2 : ext.X2;

        // Pixels n in [0, major) whose major coordinate is inside the extents.
        long first = sm > 0 ? lo - (long)m0 : m0 - (long)hi + 1;
        long end = sm > 0 ? hi - (long)m0 : m0 - (long)lo + 1;

        // ... and whose minor coordinate is: k(n) within [kLo, kHi].
        long kLo = sc > 0 ? clo - (long)c0 : c0 - (long)chi + 1;
        long kHi = sc > 0 ? chi - 1 - (long)c0 : c0 - (long)clo;
        first = Math.Max(first, FirstWithSteps(kLo, major, minor, bias));
        end = Math.Min(end, FirstWithSteps(kHi + 1, major, minor, bias));
        first = Math.Max(first, 0);
        end = Math.Min(end, major);
        if (_dashCount != 0)
        {
            StepDash(Math.Min(first, major));
        }

        for (long n = first; n < end; n++)
        {
            long k = ((2 * minor * n) + major - bias) / (2 * major);
            long m = m0 + (sm * n), c = c0 + (sc * k);
            bool on = _dashCount == 0 || (_dashIndex & 1) == 0;
            if (on)
            {
                Plot(xMajor ? (int)m : (int)c, xMajor ? (int)c : (int)m);
            }

            if (_dashCount != 0)
            {
                StepDash(1);
            }
        }

        if (_dashCount != 0)
        {
            StepDash(major - Math.Max(end, Math.Min(first, major)));
        }
    }

    /// <summary>The first n with k(n) ≥ <paramref name="steps"/> (0 when steps ≤ 0; never when the line has no minor steps).</summary>
    private static long FirstWithSteps(long steps, long major, long minor, long bias)
    {
        if (steps <= 0)
        {
            return 0;
        }

        if (minor == 0)
        {
            return long.MaxValue;
        }

        long numerator = (2 * major * (steps - 1)) + major + bias;
        return (numerator + (2 * minor) - 1) / (2 * minor);
    }

    private void StepDash(long steps)
    {
        int distance = (int)((steps + _dashOffset) % _dashTotal);
        _dashOffset = 0;
        while (distance >= _dash[_dashIndex])
        {
            distance -= _dash[_dashIndex];
            _dashIndex = (_dashIndex + 1) % _dashCount;
        }

        _dashOffset = distance;
    }

    /// <summary>One pixel, clipped to the target region, painted with the stroke's brush and rop.</summary>
    private void Plot(int x, int y)
    {
        // The region's rectangles (pixman's own memory, unchanged during the draw).
        for (int i = 0; i < _clipCount; i++)
        {
            var box = _clip[i];
            if (y >= box.Y1 && y < box.Y2 && x >= box.X1 && x < box.X2)
            {
                _paint.Box(new PixmanBox(x, y, x + 1, y + 1));
                return;
            }
        }
    }

    private readonly record struct Paint(PixmanImage Dest, SpiceRop Rop, uint Color, PixmanImage? Tile, int TileX, int TileY)
    {
        public void Box(in PixmanBox box)
        {
            if (Tile is not null)
            {
                RasterOps.Tile(Dest, box, Tile, TileX, TileY, Rop);
            }
            else if (Dest.Bpp == 32 && box.Width == 1 && box.Height == 1)
            {
                // One pixel: written here (a pixman call per pixel costs more than the pixel).
                ref uint pixel = ref System.Runtime.InteropServices.MemoryMarshal.Cast<byte, uint>(Dest.Row(box.Y1))[box.X1];
                pixel = Rop == SpiceRop.Copy ? Color : RasterOps.Apply32(Rop, Color, pixel);
            }
            else if (Rop == SpiceRop.Copy)
            {
                RasterOps.Fill(Dest, box, Color);
            }
            else
            {
                RasterOps.FillRop(Dest, box, Color, Rop);
            }
        }
    }
}
