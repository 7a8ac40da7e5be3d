namespace Accel.Core.Spice.Canvas;

/// <summary>A copy rectangle cut as spice_pixman_blit cuts it: the source rectangle is clipped to the source image.</summary>
internal readonly record struct BlitRect(int SrcX, int SrcY, int DestX, int DestY, int Width, int Height)
{
    /// <summary>The part of <paramref name="rect"/> (destination) whose source pixel (dest − offset) lies in <paramref name="src"/>.</summary>
    public static bool TryClip(PixmanImage src, in PixmanBox rect, int offsetX, int offsetY, out BlitRect clipped)
    {
        int dx = rect.X1, dy = rect.Y1, w = rect.Width, h = rect.Height;
        int sx = dx - offsetX, sy = dy - offsetY;
        if (sx < 0)
        {
            w += sx;
            dx -= sx;
            sx = 0;
        }

        if (sy < 0)
        {
            h += sy;
            dy -= sy;
            sy = 0;
        }

        w = Math.Min(w, src.Width - sx);
        h = Math.Min(h, src.Height - sy);
        clipped = new BlitRect(sx, sy, dx, dy, w, h);
        return w > 0 && h > 0;
    }
}
