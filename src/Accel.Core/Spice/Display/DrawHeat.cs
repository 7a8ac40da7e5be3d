namespace Accel.Core.Spice.Display;

/// <summary>
/// How busy each part of surface 0 is: per 64 × 64 cell, a count of draws that halves every
/// <see cref="HalfLifeSeconds"/>. A terminal printing without pause or an animation keeps its cells at dozens of draws
/// a second; a key echo lands where the screen is otherwise still (measured under the bench's <c>flood</c>: small draws
/// in the typing xterm found a heat of at most 5, those in the flooding terminal 18 at p10 and 48 at p50). Display
/// previews are for the echo: they skip hot cells, so the flood never spends the preview budget the echo needs.
/// </summary>
internal sealed class DrawHeat
{
    /// <summary>A draw is hot when a cell it covers is above this: about 33 draws a second, steadily (a typist at 10 keys/s with 3 draws each stays near 11).</summary>
    public const double Hot = 12;

    private const double HalfLifeSeconds = 0.25;
    private const int CellShift = 6;

    /// <summary>Cells kept at most (8192 × 4096 pixels); draws beyond are clipped to them.</summary>
    private const int MaxColumns = 128, MaxRows = 64;

    private readonly long _frequency;
    private float[] _heat = [];
    private long[] _stamp = [];
    private int _columns, _rows;

    public DrawHeat(long timestampFrequency)
    {
        _frequency = timestampFrequency;
    }

    /// <summary>The hottest cell <paramref name="box"/> covers, as of <paramref name="now"/> (before this draw is counted).</summary>
    public double HeatOf(in DamageRect box, long now)
    {
        double max = 0;
        if (!TryCells(box, out int c0, out int r0, out int c1, out int r1))
        {
            return 0;
        }

        for (int r = r0; r <= r1; r++)
        {
            for (int c = c0; c <= c1; c++)
            {
                max = Math.Max(max, Decayed(r * _columns + c, now));
            }
        }

        return max;
    }

    /// <summary>Counts a draw over <paramref name="box"/> on surface 0 (<paramref name="width"/> × <paramref name="height"/>).</summary>
    public void Touch(in DamageRect box, int width, int height, long now)
    {
        EnsureSize(width, height);
        if (!TryCells(box, out int c0, out int r0, out int c1, out int r1))
        {
            return;
        }

        for (int r = r0; r <= r1; r++)
        {
            for (int c = c0; c <= c1; c++)
            {
                int i = r * _columns + c;
                _heat[i] = (float)(Decayed(i, now) + 1);
                _stamp[i] = now;
            }
        }
    }

    private double Decayed(int cell, long now)
    {
        float heat = _heat[cell];
        if (heat == 0)
        {
            return 0;
        }

        double seconds = (double)(now - _stamp[cell]) / _frequency;
        return seconds <= 0 ? heat : heat * Math.Pow(2, -seconds / HalfLifeSeconds);
    }

    private bool TryCells(in DamageRect box, out int c0, out int r0, out int c1, out int r1)
    {
        c0 = Math.Max(box.Left, 0) >> CellShift;
        r0 = Math.Max(box.Top, 0) >> CellShift;
        c1 = Math.Min((box.Right - 1) >> CellShift, _columns - 1);
        r1 = Math.Min((box.Bottom - 1) >> CellShift, _rows - 1);
        return !box.IsEmpty && c0 <= c1 && r0 <= r1;
    }

    private void EnsureSize(int width, int height)
    {
        int columns = Math.Clamp((width + (1 << CellShift) - 1) >> CellShift, 1, MaxColumns);
        int rows = Math.Clamp((height + (1 << CellShift) - 1) >> CellShift, 1, MaxRows);
        if (columns != _columns || rows != _rows)
        {
            // A new primary surface (a mode change): its history starts over.
            (_columns, _rows) = (columns, rows);
            _heat = new float[columns * rows];
            _stamp = new long[columns * rows];
        }
    }
}
