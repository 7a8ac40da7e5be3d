using Accel.Core.Spice.Protocol;

namespace Accel.Core.Spice.Canvas;

/// <summary>
/// DRAW_COMPOSITE (the X Render operation Xspice forwards): the box of the destination is copied out (alpha dropped
/// when DEST_OPAQUE), composited with the source and optional mask by the given pixman operator, filters, repeats and
/// transforms, and copied back within the clip.
/// </summary>
internal static unsafe class CanvasComposite
{
    private const uint HasMask = 1u << 19;
    private const uint HasSrcTransform = 1u << 20;
    private const uint HasMaskTransform = 1u << 21;
    private const uint SourceOpaque = 1u << 22;
    private const uint DestOpaque = 1u << 24;
    private const uint ComponentAlpha = 1u << 18;

    /// <summary>PIXMAN_FILTER_BILINEAR: FAST, GOOD, BEST, NEAREST and BILINEAR need no parameters.</summary>
    private const uint MaxFilter = 4;

    public static void Draw(ref CanvasReader r, ReadOnlySpan<byte> body, in DisplayBase b, PixmanImage dest, CanvasImages images, CanvasRegion region, ImagePool pool)
    {
        uint flags = r.U32();
        CheckOperatorAndFilters(flags);
        uint srcPointer = r.U32();
        uint maskPointer = (flags & HasMask) != 0 ? r.U32() : 0;
        PixmanTransform srcTransform = default, maskTransform = default;
        if ((flags & HasSrcTransform) != 0)
        {
            srcTransform = ReadTransform(ref r);
        }

        if ((flags & HasMaskTransform) != 0)
        {
            maskTransform = ReadTransform(ref r);
        }

        int srcX = r.I16(), srcY = r.I16(), maskX = r.I16(), maskY = r.I16();
        int width = b.Box.Width, height = b.Box.Height;
        if (width <= 0 || height <= 0)
        {
            images.Get(body, srcPointer).Dispose();
            if (maskPointer != 0)
            {
                images.Get(body, maskPointer).Dispose();
            }

            return;
        }

        uint format = dest.Format;
        if ((flags & DestOpaque) != 0 && dest.HasAlpha)
        {
            format = OpaqueFormat(format);
        }

        using var d = pool.Rent(format, width, height, clear: true);
        var box = new PixmanBox(b.Box.Left, b.Box.Top, b.Box.Right, b.Box.Bottom);
        if (BlitRect.TryClip(dest, new PixmanBox(0, 0, width, height), -box.X1, -box.Y1, out var outRect))
        {
            CanvasDrawing.CopyAny(d, dest, outRect);
        }

        using var src = images.Get(body, srcPointer);
        using var srcView = (flags & SourceOpaque) != 0 && src.Image.HasAlpha ? src.Image.CreateView(OpaqueFormat(src.Image.Format)) : null;
        nint s = srcView?.Handle ?? src.Image.Handle;
        if ((flags & HasSrcTransform) != 0)
        {
            PixmanNative.SetTransform(s, &srcTransform);
        }

        PixmanNative.SetFilter(s, (int)((flags >> 8) & 7), null, 0);
        PixmanNative.SetRepeat(s, (int)((flags >> 14) & 3));
        CanvasImageRef mask = default;
        nint m = 0;
        if (maskPointer != 0)
        {
            mask = images.Get(body, maskPointer);
            m = mask.Image.Handle;
            if ((flags & HasMaskTransform) != 0)
            {
                PixmanNative.SetTransform(m, &maskTransform);
            }

            PixmanNative.SetRepeat(m, (int)((flags >> 16) & 3));
            PixmanNative.SetFilter(m, (int)((flags >> 11) & 7), null, 0);
            PixmanNative.SetComponentAlpha(m, (flags & ComponentAlpha) != 0 ? 1 : 0);
        }

        try
        {
            PixmanNative.Composite32((int)(flags & 0xFF), s, m, d.Handle, srcX, srcY, maskX, maskY, 0, 0, width, height);
        }
        finally
        {
            mask.Dispose();
        }

        foreach (var rect in region.Rectangles)
        {
            if (BlitRect.TryClip(d, rect, box.X1, box.Y1, out var back))
            {
                CanvasDrawing.CopyAny(dest, d, back);
            }
        }
    }

    /// <summary>
    /// The operator and filters go to pixman as they are: pixman has no combiner for the gaps between its operator
    /// ranges (it logs "No known combine function" and the process dies), and the convolution filters read parameters
    /// this message does not carry. Found by fuzzing (docs/fuzzing.md).
    /// </summary>
    private static void CheckOperatorAndFilters(uint flags)
    {
        uint op = flags & 0xFF;
        bool knownOp = op <= 0x0D || op is >= 0x10 and <= 0x1B or >= 0x20 and <= 0x2B or >= 0x30 and <= 0x3E;
        uint srcFilter = (flags >> 8) & 7, maskFilter = (flags >> 11) & 7;
        if (!knownOp || srcFilter > MaxFilter || maskFilter > MaxFilter)
        {
            SpiceThrow.Protocol(SpiceProtocolError.InvalidValue, $"composite operator 0x{op:x2} or filter {srcFilter}/{maskFilter}");
        }
    }

    private static uint OpaqueFormat(uint format) => format & ~(0xFu << 12);

    private static PixmanTransform ReadTransform(ref CanvasReader r)
    {
        var t = default(PixmanTransform);
        t.Matrix[0] = r.I32();
        t.Matrix[1] = r.I32();
        t.Matrix[2] = r.I32();
        t.Matrix[3] = r.I32();
        t.Matrix[4] = r.I32();
        t.Matrix[5] = r.I32();
        t.Matrix[8] = PixmanTransform.One;
        return t;
    }
}
