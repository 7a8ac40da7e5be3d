using Accel.Core.Spice.Protocol;

namespace Accel.Core.Spice.Canvas;

/// <summary>
/// DRAW_TEXT as spice-common's software canvas draws it: the back brush fills back_area ∩ box ∩ clip (only with the
/// fore mode PUT, otherwise nothing is drawn), the raster glyphs (1, 4 or 8 bpp, rows bottom-up, 1 bpp rows
/// most-significant bit first) are merged into one a1/a8 mask over the union of their boxes (4/8 bpp by maximum),
/// and the fore brush is composited OVER through that mask within box ∩ clip; a pattern brush is tiled from the
/// mask's origin. Vector glyphs are not supported (spice-common does not draw them either).
/// </summary>
internal sealed unsafe class CanvasText : IDisposable
{
    private const byte RasterA1 = 1;
    private const byte RasterA4 = 2;
    private const byte RasterA8 = 4;

    private readonly CanvasDrawing _drawing;
    private readonly CanvasImages _images;
    private readonly ImagePool _pool;
    private readonly CanvasRegion _back = new();

    public CanvasText(CanvasDrawing drawing, CanvasImages images, ImagePool pool)
    {
        _drawing = drawing;
        _images = images;
        _pool = pool;
    }

    /// <summary>Draws the text; false for vector glyphs (the canvas cannot draw them).</summary>
    public bool Draw(ReadOnlySpan<byte> body)
    {
        var r = new CanvasReader(body);
        var b = r.Base();
        var dest = _drawing.Surface(b.SurfaceId);
        uint str = r.U32();
        var backArea = r.Rect();
        var fore = r.Brush();
        var back = r.Brush();
        int foreMode = r.U16();
        r.U16(); // back_mode: the back area is always filled with COPY
        _drawing.Target(body, b, dest, default);
        var region = _drawing.Region;
        if (region.IsEmpty)
        {
            _drawing.Touch(body, fore);
            _drawing.Touch(body, back);
            return true;
        }

        if (!backArea.IsEmpty)
        {
            if (foreMode != RasterOps.OpPut)
            {
                return true; // spice-common refuses text with a back area and any other fore mode: nothing is drawn
            }

            _back.SetRect(backArea.Left, backArea.Top, backArea.Width, backArea.Height);
            _back.Intersect(region);
            if (!_back.IsEmpty)
            {
                _drawing.DrawBrush(body, dest, back, SpiceRop.Copy, _back);
            }
        }

        var s = new CanvasReader(body).At(str, 3, "a glyph string");
        int length = s.U16();
        byte flags = s.U8();
        int depth = (flags & RasterA1) != 0 ? 1 : (flags & RasterA4) != 0 ? 4 : (flags & RasterA8) != 0 ? 8 : 0;
        if (depth == 0)
        {
            return false;
        }

        if (length == 0)
        {
            SpiceThrow.Protocol(SpiceProtocolError.InvalidValue, "a glyph string without glyphs");
        }

        var bounds = Bounds(s, length, depth);
        long pixels = (long)bounds.Width * bounds.Height;
        if (pixels > _drawing.Limits.MaxImagePixels)
        {
            SpiceThrow.Protocol(SpiceProtocolError.InvalidValue, $"a glyph string of {bounds.Width}x{bounds.Height}");
        }

        using var brush = fore.Type == SpiceBrush.Pattern_ ? _images.Get(body, fore.Pattern) : default;
        if (bounds.Width <= 0 || bounds.Height <= 0 || fore.Type == SpiceBrush.None)
        {
            return true;
        }

        var mask = _pool.Rent(depth == 1 ? PixmanFormat.A1 : PixmanFormat.A8, bounds.Width, bounds.Height, clear: true);
        try
        {
            Rasterise(s, length, depth, mask, bounds);
            Composite(dest, mask, bounds, fore, brush.Image, region);
        }
        finally
        {
            mask.Dispose();
        }

        return true;
    }

    public void Dispose() => _back.Dispose();

    private static int LineBytes(int depth, int width) => ((depth * width) + 7) / 8;

    /// <summary>The union of the glyph boxes (render position + origin, width × height); every glyph is bounds-checked here.</summary>
    private static PixmanBox Bounds(CanvasReader s, int length, int depth)
    {
        var bounds = new PixmanBox(int.MaxValue, int.MaxValue, int.MinValue, int.MinValue);
        for (int i = 0; i < length; i++)
        {
            var g = Glyph.Read(ref s, depth);
            bounds.X1 = Math.Min(bounds.X1, g.Left);
            bounds.Y1 = Math.Min(bounds.Y1, g.Top);
            bounds.X2 = Math.Max(bounds.X2, g.Left + g.Width);
            bounds.Y2 = Math.Max(bounds.Y2, g.Top + g.Height);
        }

        return bounds;
    }

    private static void Rasterise(CanvasReader s, int length, int depth, PixmanImage mask, in PixmanBox bounds)
    {
        for (int i = 0; i < length; i++)
        {
            var g = Glyph.Read(ref s, depth);
            var data = s.Body.Slice(g.Data, LineBytes(depth, g.Width) * g.Height);
            int stride = LineBytes(depth, g.Width);
            int x0 = g.Left - bounds.X1, y0 = g.Top - bounds.Y1;
            for (int row = 0; row < g.Height; row++)
            {
                var src = data.Slice((g.Height - 1 - row) * stride, stride); // glyph rows are bottom-up
                var dst = mask.Row(y0 + row);
                for (int x = 0; x < g.Width; x++)
                {
                    switch (depth)
                    {
                        case 1:
                            if ((src[x >> 3] & (0x80 >> (x & 7))) != 0)
                            {
                                dst[(x0 + x) >> 3] |= (byte)(1 << ((x0 + x) & 7));
                            }

                            break;
                        case 4:
                            // spice-common compares the odd pixel's value before it is cut to a byte (src << 4 as
                            // an int): a glyph byte with its high nibble set wins over whatever is there, and
                            // then stores only its low nibble. spice-gtk draws overlapping A4 glyphs so.
                            int v = (x & 1) == 0 ? src[x >> 1] & 0xF0 : src[x >> 1] << 4;
                            dst[x0 + x] = (byte)Math.Max(dst[x0 + x], v);
                            break;
                        default:
                            dst[x0 + x] = Math.Max(dst[x0 + x], src[x]);
                            break;
                    }
                }
            }
        }
    }

    private static void Composite(PixmanImage dest, PixmanImage mask, in PixmanBox bounds, in SpiceBrush fore, PixmanImage? pattern, CanvasRegion region)
    {
        nint src;
        if (pattern is null)
        {
            var color = SolidColor(dest, fore.Color);
            src = PixmanNative.CreateSolidFill(&color);
        }
        else
        {
            var t = PixmanTransform.ScaleTranslate(PixmanTransform.One, PixmanTransform.One, -fore.X << 16, -fore.Y << 16);
            PixmanNative.SetTransform(pattern.Handle, &t);
            PixmanNative.SetRepeat(pattern.Handle, 1);
            src = pattern.Handle;
        }

        PixmanNative.SetClipRegion32(dest.Handle, region.Native);
        PixmanNative.Composite32(PixmanOp.Over, src, mask.Handle, dest.Handle, 0, 0, 0, 0, bounds.X1, bounds.Y1, bounds.Width, bounds.Height);
        PixmanNative.SetClipRegion32(dest.Handle, null);
        if (pattern is null)
        {
            PixmanNative.Unref(src);
        }
        else
        {
            var identity = PixmanTransform.Identity;
            PixmanNative.SetTransform(pattern.Handle, &identity);
            PixmanNative.SetRepeat(pattern.Handle, 0);
        }

        if (dest.Format == PixmanFormat.X8R8G8B8)
        {
            RasterOps.ClearDestAlpha(dest, bounds.X1, bounds.Y1, bounds.Width, bounds.Height);
        }
    }

    /// <summary>The brush colour at the surface's depth (5 bits per channel at 16 bpp), widened to pixman's 16 bits.</summary>
    private static PixmanColor SolidColor(PixmanImage dest, uint color)
    {
        int shift = dest.Bpp == 16 ? 5 : 8;
        uint mask = (1u << shift) - 1;
        return new PixmanColor
        {
            Blue = (ushort)((color & mask) * 0xFFFF / mask),
            Green = (ushort)(((color >> shift) & mask) * 0xFFFF / mask),
            Red = (ushort)(((color >> (2 * shift)) & mask) * 0xFFFF / mask),
            Alpha = 0xFFFF,
        };
    }

    /// <summary>RasterGlyph: render_pos, glyph_origin, width, height, then its rows.</summary>
    private readonly record struct Glyph(int Left, int Top, int Width, int Height, int Data)
    {
        private const long MaxCoordinate = 1 << 24;

        public static Glyph Read(ref CanvasReader s, int depth)
        {
            long left = (long)s.I32(), top = (long)s.I32();
            left += s.I32();
            top += s.I32();
            int width = s.U16(), height = s.U16();
            int data = s.Position;
            s.Bytes((long)LineBytes(depth, width) * height, "glyph rows");
            if (Math.Abs(left) > MaxCoordinate || Math.Abs(top) > MaxCoordinate)
            {
                SpiceThrow.Protocol(SpiceProtocolError.InvalidValue, "a glyph far outside any surface");
            }

            return new Glyph((int)left, (int)top, width, height, data);
        }
    }
}
