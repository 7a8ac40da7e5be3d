namespace Accel.Core.Spice.Display;

/// <summary>A rectangle in surface pixels: [Left, Right) × [Top, Bottom).</summary>
internal readonly record struct DamageRect(int Left, int Top, int Right, int Bottom)
{
    public int Width => Right - Left;

    public int Height => Bottom - Top;

    public long Area => (long)Width * Height;

    public bool IsEmpty => Right <= Left || Bottom <= Top;

    public bool Contains(in DamageRect other) => Left <= other.Left && Top <= other.Top && Right >= other.Right && Bottom >= other.Bottom;

    public bool Intersects(in DamageRect other) => Left < other.Right && other.Left < Right && Top < other.Bottom && other.Top < Bottom;

    public DamageRect Union(in DamageRect other) => new(Math.Min(Left, other.Left), Math.Min(Top, other.Top), Math.Max(Right, other.Right), Math.Max(Bottom, other.Bottom));

    /// <summary>The common part (empty when they do not overlap).</summary>
    public DamageRect Intersect(in DamageRect other) => new(Math.Max(Left, other.Left), Math.Max(Top, other.Top), Math.Min(Right, other.Right), Math.Min(Bottom, other.Bottom));

    public DamageRect Offset(int dx, int dy) => new(Left + dx, Top + dy, Right + dx, Bottom + dy);

    public DamageRect Intersect(int width, int height) => new(Math.Max(Left, 0), Math.Max(Top, 0), Math.Min(Right, width), Math.Min(Bottom, height));
}

/// <summary>
/// The damage of one surface: at most <see cref="MaxRects"/> rectangles covering every pixel the client lacks. A new
/// rectangle inside an existing one adds nothing; existing ones inside it are dropped; over the limit, the pair whose
/// bounding box adds the least area is merged (a superset: refreshing more pixels than changed is always correct).
/// </summary>
internal sealed class DisplayDamage
{
    public const int MaxRects = 16;

    private readonly List<DamageRect> _rects = new(MaxRects + 1);

    public int Count => _rects.Count;

    public bool IsEmpty => _rects.Count == 0;

    public DamageRect this[int index] => _rects[index];

    public long Area
    {
        get
        {
            long a = 0;
            foreach (var r in _rects)
            {
                a += r.Area;
            }

            return a;
        }
    }

    public void Add(DamageRect rect)
    {
        if (rect.IsEmpty)
        {
            return;
        }

        foreach (var r in _rects)
        {
            if (r.Contains(rect))
            {
                return;
            }
        }

        for (int i = _rects.Count - 1; i >= 0; i--)
        {
            if (rect.Contains(_rects[i]))
            {
                _rects.RemoveAt(i);
            }
        }

        _rects.Add(rect);
        while (_rects.Count > MaxRects)
        {
            MergeCheapestPair();
        }
    }

    /// <summary>Replaces rectangle <paramref name="index"/> by what is left of it (empty: removed).</summary>
    public void ReplaceAt(int index, DamageRect rest)
    {
        if (rest.IsEmpty)
        {
            _rects.RemoveAt(index);
        }
        else
        {
            _rects[index] = rest;
        }
    }

    public void Clear() => _rects.Clear();

    private void MergeCheapestPair()
    {
        int bi = 0, bj = 1;
        long best = long.MaxValue;
        for (int i = 0; i < _rects.Count; i++)
        {
            for (int j = i + 1; j < _rects.Count; j++)
            {
                long cost = _rects[i].Union(_rects[j]).Area - _rects[i].Area - _rects[j].Area;
                if (cost < best)
                {
                    best = cost;
                    bi = i;
                    bj = j;
                }
            }
        }

        var merged = _rects[bi].Union(_rects[bj]);
        _rects.RemoveAt(bj);
        _rects.RemoveAt(bi);
        Add(merged);
    }
}
