using System.Buffers;
using System.Runtime.InteropServices;
using Accel.Core.Spice.Protocol;

namespace Accel.Core.Spice.Canvas;

/// <summary>
/// Applies the draw messages (DRAW_FILL … DRAW_COMPOSITE) to a surface with spice-common's semantics: the target
/// region is box ∩ surface ∩ clip rectangles ∩ mask; sources are blitted raw at equal depth, scaled with pixman
/// (NEAREST or GOOD), combined by the 16 binary ROPs, the 256 ternary ROPs, colour keys, OVER (alpha blend, text) or
/// any pixman operator (composite).
/// </summary>
internal sealed unsafe class CanvasDrawing : IDisposable
{
    private readonly CanvasImages _images;
    private readonly ImagePool _pool;
    private readonly Func<uint, PixmanImage> _surface;
    private readonly CanvasRegion _region = new();
    private readonly CanvasRegion _scratch = new();

    public CanvasDrawing(CanvasImages images, ImagePool pool, CanvasLimits limits, Func<uint, PixmanImage> surface)
    {
        _images = images;
        _pool = pool;
        Limits = limits;
        _surface = surface;
    }

    public CanvasLimits Limits { get; }

    /// <summary>The target region of the current draw (set by <see cref="Target"/>).</summary>
    public CanvasRegion Region => _region;

    public PixmanImage Surface(uint id) => _surface(id);

    /// <summary>Applies a draw message; returns false for a draw type it does not handle (STROKE and TEXT are elsewhere).</summary>
    public bool Draw(ushort type, ReadOnlySpan<byte> body)
    {
        var r = new CanvasReader(body);
        var b = r.Base();
        var dest = _surface(b.SurfaceId);
        switch (type)
        {
            case DrawTypes.Fill:
            {
                var brush = r.Brush();
                int rop = r.U16();
                var mask = r.Mask();
                Target(body, b, dest, mask);
                var op = RasterOps.FromDescriptor(rop, RasterOps.InversBrush, RasterOps.InversDest);
                if (op != SpiceRop.Noop && !_region.IsEmpty)
                {
                    DrawBrush(body, dest, brush, op, _region);
                }
                else
                {
                    Touch(body, brush);
                }

                return true;
            }

            case DrawTypes.Opaque:
            {
                uint src = r.U32();
                var area = r.Rect();
                var brush = r.Brush();
                int rop = r.U16();
                byte scale = r.U8();
                var mask = r.Mask();
                Target(body, b, dest, mask);
                var op = RasterOps.FromDescriptor(rop, RasterOps.InversBrush, RasterOps.InversSrc);
                using var image = _images.Get(body, src);
                if (op == SpiceRop.Noop || _region.IsEmpty)
                {
                    Touch(body, brush);
                    return true;
                }

                Blit(dest, image.Image, b.Box, area, scale, SpiceRop.Copy);
                DrawBrush(body, dest, brush, op, _region);
                return true;
            }

            case DrawTypes.Copy:
            case DrawTypes.Blend:
            {
                uint src = r.U32();
                var area = r.Rect();
                int rop = r.U16();
                byte scale = r.U8();
                var mask = r.Mask();
                Target(body, b, dest, mask);
                var op = RasterOps.FromDescriptor(rop, RasterOps.InversSrc, RasterOps.InversDest);
                using var image = _images.Get(body, src);
                if (op != SpiceRop.Noop && !_region.IsEmpty)
                {
                    Blit(dest, image.Image, b.Box, area, scale, op);
                }

                return true;
            }

            case DrawTypes.Blackness:
            case DrawTypes.Whiteness:
            case DrawTypes.Invers:
            {
                Target(body, b, dest, r.Mask());
                foreach (var box in _region.Rectangles)
                {
                    if (type == DrawTypes.Invers)
                    {
                        RasterOps.FillRop(dest, box, 0, SpiceRop.Invert);
                    }
                    else
                    {
                        RasterOps.Fill(dest, box, type == DrawTypes.Blackness ? 0u : 0xFFFFFFFFu);
                    }
                }

                return true;
            }

            case DrawTypes.Rop3:
                Rop3(ref r, body, b, dest);
                return true;
            case DrawTypes.Transparent:
            {
                uint src = r.U32();
                var area = r.Rect();
                r.U32(); // src_color: the key in the source's own format; true_color is what the canvas compares
                uint trueColor = r.U32();
                Target(body, b, dest, default);
                using var image = _images.Get(body, src);
                if (_region.IsEmpty)
                {
                    return true;
                }

                uint key = dest.Bpp == 32 ? trueColor : dest.Format == PixmanFormat.R5G6B5 ? RasterOps.To565(trueColor) : RasterOps.To555(trueColor);
                using var scaled = Scaled(image.Image, area, b.Box, out int ox, out int oy, 1, _pool);
                foreach (var box in _region.Rectangles)
                {
                    if (BlitRect.TryClip(scaled.Image, box, ox, oy, out var c))
                    {
                        RasterOps.ColorKey(dest, scaled.Image, c.SrcX, c.SrcY, c.DestX, c.DestY, c.Width, c.Height, key);
                    }
                }

                return true;
            }

            case DrawTypes.AlphaBlend:
            {
                byte flags = r.U8();
                byte alpha = r.U8();
                uint src = r.U32();
                var area = r.Rect();
                Target(body, b, dest, default);
                using var image = _images.Get(body, src);
                if (alpha != 0 && !_region.IsEmpty)
                {
                    AlphaBlend(dest, image.Image, b.Box, area, flags, alpha);
                }

                return true;
            }

            case DrawTypes.Composite:
                Target(body, b, dest, default);
                CanvasComposite.Draw(ref r, body, b, dest, _images, _region, _pool);
                return true;
            default:
                return false;
        }
    }

    public void CopyBits(ReadOnlySpan<byte> body)
    {
        var r = new CanvasReader(body);
        var b = r.Base();
        int srcX = r.I32();
        int srcY = r.I32();
        var dest = _surface(b.SurfaceId);
        Target(body, b, dest, default);
        int dx = b.Box.Left - srcX;
        int dy = b.Box.Top - srcY;
        if (dx == 0 && dy == 0)
        {
            return;
        }

        _region.IntersectRect(dx, dy, dest.Width, dest.Height);
        var rects = _region.Rectangles;

        // Copy in the order that never reads a pixel already overwritten (as spice-common's copy_region).
        int n = rects.Length;
        for (int k = 0; k < n; k++)
        {
            int i = dy > 0
                ? (dx >= 0 ? n - 1 - k : RasterOps.ReverseWithinBand(rects, n - 1 - k))
                : (dx > 0 ? RasterOps.ReverseWithinBand(rects, k) : k);
            var box = rects[i];
            RasterOps.Copy(dest, dest, box.X1 - dx, box.Y1 - dy, box.X1, box.Y1, box.Width, box.Height, bottomUp: dy > 0);
        }
    }

    public void Dispose()
    {
        _region.Dispose();
        _scratch.Dispose();
    }

    /// <summary>_region = box ∩ surface ∩ clip ∩ mask.</summary>
    internal void Target(ReadOnlySpan<byte> body, in DisplayBase b, PixmanImage dest, SpiceQMask mask)
    {
        // spice-server drops drawables whose box leaves their surface; the scaled and composite scratch images are
        // the box's size, so a box from elsewhere would size an allocation, and an inverted one with far-apart
        // coordinates overflows its width (found by fuzzing, docs/fuzzing.md).
        if ((uint)b.Box.Left > (uint)dest.Width || (uint)b.Box.Right > (uint)dest.Width
            || (uint)b.Box.Top > (uint)dest.Height || (uint)b.Box.Bottom > (uint)dest.Height)
        {
            SpiceThrow.Protocol(SpiceProtocolError.InvalidValue, $"a draw box {b.Box} is outside its {dest.Width}x{dest.Height} surface");
        }

        _region.SetRect(b.Box.Left, b.Box.Top, b.Box.Width, b.Box.Height);
        _region.IntersectRect(0, 0, dest.Width, dest.Height);
        if (b.HasClip)
        {
            PixmanBox[]? rented = b.ClipCount <= 64 ? null : ArrayPool<PixmanBox>.Shared.Rent(b.ClipCount);
            Span<PixmanBox> boxes = rented is null ? stackalloc PixmanBox[b.ClipCount] : rented.AsSpan(0, b.ClipCount);
            var clip = new CanvasReader(body, b.ClipOffset);
            for (int i = 0; i < b.ClipCount; i++)
            {
                var rect = clip.Rect();
                boxes[i] = new PixmanBox(rect.Left, rect.Top, rect.Right, rect.Bottom);
            }

            _scratch.SetRects(boxes);
            _region.Intersect(_scratch);
            if (rented is not null)
            {
                ArrayPool<PixmanBox>.Shared.Return(rented);
            }
        }

        if (mask.Bitmap != 0)
        {
            ApplyMask(body, mask, b.Box.Left, b.Box.Top);
        }
    }

    private void ApplyMask(ReadOnlySpan<byte> body, SpiceQMask mask, int x, int y)
    {
        using var image = _images.Get(body, mask.Bitmap, mask: true);
        var m = image.Image;
        if (m.Format != PixmanFormat.A1)
        {
            SpiceThrow.Protocol(SpiceProtocolError.InvalidValue, "a mask that is not 1 bpp");
        }

        _scratch.SetFromImage(m.Handle);
        if (mask.Inverse)
        {
            _scratch.Inverse(new PixmanBox(0, 0, m.Width, m.Height));
        }

        _scratch.Translate(x - mask.X, y - mask.Y);
        _region.Intersect(_scratch);
    }

    internal void DrawBrush(ReadOnlySpan<byte> body, PixmanImage dest, in SpiceBrush brush, SpiceRop rop, CanvasRegion region)
    {
        var rects = region.Rectangles;
        switch (brush.Type)
        {
            case SpiceBrush.Pattern_:
            {
                using var tile = _images.Get(body, brush.Pattern);
                foreach (var box in rects)
                {
                    RasterOps.Tile(dest, box, tile.Image, brush.X, brush.Y, rop);
                }

                break;
            }

            default:
                uint color = brush.Type == SpiceBrush.Solid ? brush.Color : 0;
                foreach (var box in rects)
                {
                    if (rop == SpiceRop.Copy && brush.Type == SpiceBrush.Solid)
                    {
                        RasterOps.Fill(dest, box, color);
                    }
                    else
                    {
                        RasterOps.FillRop(dest, box, color, rop);
                    }
                }

                break;
        }
    }

    /// <summary>Reads a pattern brush's image without drawing it (its cache flags still apply).</summary>
    internal void Touch(ReadOnlySpan<byte> body, in SpiceBrush brush)
    {
        if (brush.Type == SpiceBrush.Pattern_)
        {
            _images.Get(body, brush.Pattern).Dispose();
        }
    }

    /// <summary>Copies <paramref name="src"/>'s <paramref name="area"/> onto <paramref name="box"/> within _region.</summary>
    private void Blit(PixmanImage dest, PixmanImage src, in SpiceRect box, in SpiceRect area, byte scaleMode, SpiceRop rop)
    {
        if (rop == SpiceRop.Copy && !box.SameSize(area))
        {
            Scale(dest, src, area, box, scaleMode, _region);
            return;
        }

        using var scaled = Scaled(src, area, box, out int ox, out int oy, scaleMode, _pool);
        foreach (var rect in _region.Rectangles)
        {
            if (!BlitRect.TryClip(scaled.Image, rect, ox, oy, out var c))
            {
                continue;
            }

            if (rop == SpiceRop.Copy)
            {
                CopyAny(dest, scaled.Image, c);
            }
            else
            {
                RasterOps.CopyRop(dest, scaled.Image, c.SrcX, c.SrcY, c.DestX, c.DestY, c.Width, c.Height, rop);
            }
        }
    }

    /// <summary>A raw copy at equal depth, pixman SRC (converting) otherwise.</summary>
    internal static void CopyAny(PixmanImage dest, PixmanImage src, in BlitRect c)
    {
        if (dest.Bpp == src.Bpp)
        {
            RasterOps.Copy(dest, src, c.SrcX, c.SrcY, c.DestX, c.DestY, c.Width, c.Height);
        }
        else
        {
            PixmanNative.Composite32(PixmanOp.Src, src.Handle, 0, dest.Handle, c.SrcX, c.SrcY, 0, 0, c.DestX, c.DestY, c.Width, c.Height);
        }
    }

    internal static void Scale(PixmanImage dest, PixmanImage src, in SpiceRect area, in SpiceRect box, byte scaleMode, CanvasRegion? clip)
    {
        if (box.Width <= 0 || box.Height <= 0)
        {
            return;
        }

        var t = PixmanTransform.ScaleTranslate(
            (int)((long)area.Width * 65536 / box.Width), (int)((long)area.Height * 65536 / box.Height), area.Left << 16, area.Top << 16);
        PixmanNative.SetClipRegion32(dest.Handle, clip is null ? null : clip.Native);
        PixmanNative.SetTransform(src.Handle, &t);
        PixmanNative.SetRepeat(src.Handle, 0);
        PixmanNative.SetFilter(src.Handle, scaleMode == 1 ? 3 : 1, null, 0);
        PixmanNative.Composite32(PixmanOp.Src, src.Handle, 0, dest.Handle, 0, 0, 0, 0, box.Left, box.Top, box.Width, box.Height);
        var identity = PixmanTransform.Identity;
        PixmanNative.SetTransform(src.Handle, &identity);
        PixmanNative.SetClipRegion32(dest.Handle, null);
    }

    /// <summary>The source area at the box's size (the source itself when sizes match); offsets map box pixels to it.</summary>
    internal static CanvasImageRef Scaled(PixmanImage src, in SpiceRect area, in SpiceRect box, out int offsetX, out int offsetY, byte scaleMode, ImagePool pool)
    {
        if (box.SameSize(area))
        {
            offsetX = box.Left - area.Left;
            offsetY = box.Top - area.Top;
            return new CanvasImageRef(src, false);
        }

        var scaled = pool.Rent(src.Format, Math.Max(1, box.Width), Math.Max(1, box.Height), clear: false);
        Scale(scaled, src, area, new SpiceRect(0, 0, box.Height, box.Width), scaleMode, null);
        offsetX = box.Left;
        offsetY = box.Top;
        return new CanvasImageRef(scaled, true);
    }

    private void AlphaBlend(PixmanImage dest, PixmanImage src, in SpiceRect box, in SpiceRect area, byte flags, byte alpha)
    {
        bool destHasAlpha = (flags & 1) != 0;
        using var target = destHasAlpha && dest.Format == PixmanFormat.X8R8G8B8 ? dest.CreateView(PixmanFormat.A8R8G8B8) : null;
        nint d = target?.Handle ?? dest.Handle;
        PixmanNative.SetClipRegion32(d, _region.Native);
        nint mask = 0;
        if (alpha != 0xFF)
        {
            var color = new PixmanColor { Alpha = (ushort)(alpha * 0x101) };
            mask = PixmanNative.CreateSolidFill(&color);
        }

        PixmanNative.SetRepeat(src.Handle, 0);
        if (box.SameSize(area))
        {
            PixmanNative.Composite32(PixmanOp.Over, src.Handle, mask, d, area.Left, area.Top, 0, 0, box.Left, box.Top, box.Width, box.Height);
        }
        else
        {
            var t = PixmanTransform.ScaleTranslate(
                (int)((long)area.Width * 65536 / box.Width), (int)((long)area.Height * 65536 / box.Height), area.Left << 16, area.Top << 16);
            PixmanNative.SetTransform(src.Handle, &t);
            PixmanNative.SetFilter(src.Handle, 3, null, 0);
            PixmanNative.Composite32(PixmanOp.Over, src.Handle, mask, d, 0, 0, 0, 0, box.Left, box.Top, box.Width, box.Height);
            var identity = PixmanTransform.Identity;
            PixmanNative.SetTransform(src.Handle, &identity);
        }

        if (dest.Format == PixmanFormat.X8R8G8B8 && !destHasAlpha)
        {
            RasterOps.ClearDestAlpha(dest, box.Left, box.Top, box.Width, box.Height);
        }

        if (mask != 0)
        {
            PixmanNative.Unref(mask);
        }

        PixmanNative.SetClipRegion32(d, null);
    }

    private void Rop3(ref CanvasReader r, ReadOnlySpan<byte> body, in DisplayBase b, PixmanImage dest)
    {
        uint src = r.U32();
        var area = r.Rect();
        var brush = r.Brush();
        byte rop3 = r.U8();
        byte scale = r.U8();
        var mask = r.Mask();
        Target(body, b, dest, mask);
        using var image = _images.Get(body, src);
        using var pattern = brush.Type == SpiceBrush.Pattern_ ? _images.Get(body, brush.Pattern) : default;
        if (_region.IsEmpty)
        {
            return;
        }

        using var s = Scaled(image.Image, area, b.Box, out int ox, out int oy, scale, _pool);
        int bpp = RasterOps.BytesPerPixel(dest);
        Span<byte> color = stackalloc byte[4];
        System.Buffers.Binary.BinaryPrimitives.WriteUInt32LittleEndian(color, brush.Color);
        foreach (var box in _region.Rectangles)
        {
            for (int y = box.Y1; y < box.Y2; y++)
            {
                int sy = y - oy;
                if ((uint)sy >= (uint)s.Image.Height)
                {
                    continue;
                }

                var srow = s.Image.Row(sy);
                var drow = dest.Row(y);
                var prow = pattern.Image is { } p ? p.Row(RasterOps.Mod(y - brush.Y, p.Height)) : default;
                for (int x = box.X1; x < box.X2; x++)
                {
                    int sx = x - ox;
                    if ((uint)sx >= (uint)s.Image.Width)
                    {
                        continue;
                    }

                    int px = pattern.Image is { } pi ? RasterOps.Mod(x - brush.X, pi.Width) * bpp : 0;
                    for (int i = 0; i < bpp; i++)
                    {
                        byte pv = pattern.Image is null ? color[i] : prow[px + i];
                        drow[x * bpp + i] = RasterOps.Apply3(rop3, pv, srow[sx * bpp + i], drow[x * bpp + i]);
                    }
                }
            }
        }
    }
}
