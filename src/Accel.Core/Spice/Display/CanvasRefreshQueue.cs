namespace Accel.Core.Spice.Display;

/// <summary>A rectangle the client holds only approximately (sent as JPEG), and when it was last sent so.</summary>
internal readonly record struct LossyRect(DamageRect Rect, long Stamp);

/// <summary>
/// What the client lacks, per surface, and the order in which the canvas refresh sends it (docs/display-path.md):
/// <list type="bullet">
/// <item><b>Fresh</b> damage (pixels the client has not got at all) first, smallest rectangle first across surfaces:
/// a key echo (a few glyphs) overtakes a terminal that scrolls in another window or a running animation, whose large
/// rectangles wait for the next room in the budget — by then they hold the newest pixels, not a backlog.</item>
/// <item><b>Lossy</b> rectangles (sent as JPEG to fit the link) are sent again losslessly once they have settled: no
/// fresh damage touches them and they were last sent at least the refine delay ago. So a region that changes at video
/// rate stays lossy, and the picture ends pixel-exact once it is still.</item>
/// </list>
/// </summary>
internal sealed class CanvasRefreshQueue
{
    public const int MaxLossyRects = 16;

    /// <summary>Fresh rectangles larger than this are paced (<see cref="TryTake"/>'s <c>allowLarge</c>).</summary>
    public const int LargePixels = 128 * 128;

    private readonly Dictionary<uint, Surface> _surfaces = new();

    /// <summary>The large rectangle being sent (surface, left, right, bottom: its top moves as bands go): its bands continue unpaced.</summary>
    private (uint Surface, int Left, int Right, int Bottom)? _admitted;

    /// <summary>Nothing fresh and nothing lossy: the client's picture equals the canvas.</summary>
    public bool IsEmpty => _surfaces.Count == 0;

    public bool HasFresh
    {
        get
        {
            foreach (var s in _surfaces.Values)
            {
                if (!s.Fresh.IsEmpty)
                {
                    return true;
                }
            }

            return false;
        }
    }

    /// <summary>The smallest fresh rectangle's pixels (<see cref="long.MaxValue"/>: none); <see cref="TryTake"/> takes it first.</summary>
    public long SmallestFresh
    {
        get
        {
            long smallest = long.MaxValue;
            foreach (var s in _surfaces.Values)
            {
                for (int i = 0; i < s.Fresh.Count; i++)
                {
                    smallest = Math.Min(smallest, s.Fresh[i].Area);
                }
            }

            return smallest;
        }
    }

    /// <summary>Pixels of fresh damage pending (all surfaces; overlapping rectangles count twice).</summary>
    public long FreshArea
    {
        get
        {
            long area = 0;
            foreach (var s in _surfaces.Values)
            {
                area += s.Fresh.Area;
            }

            return area;
        }
    }

    /// <summary>Lossy rectangles waiting for their lossless refresh (all surfaces).</summary>
    public int LossyCount
    {
        get
        {
            int n = 0;
            foreach (var s in _surfaces.Values)
            {
                n += s.Lossy.Count;
            }

            return n;
        }
    }

    public void AddFresh(uint surface, DamageRect rect)
    {
        if (!rect.IsEmpty)
        {
            Get(surface).Fresh.Add(rect);
        }
    }

    /// <summary>
    /// A COPY_BITS reaches the client while damage is pending: the client copies what it has, so whatever it lacks in
    /// the <paramref name="source"/> (fresh or only approximate) now lacks at the destination too — that part, moved by
    /// (<paramref name="dx"/>, <paramref name="dy"/>) and clipped to the surface, becomes fresh damage. Pending damage
    /// at the destination stays (the copy may have made it exact; refreshing it again is merely safe).
    /// </summary>
    public void OnCopied(uint surface, in DamageRect source, int dx, int dy, int width, int height)
    {
        if (!_surfaces.TryGetValue(surface, out var s))
        {
            return;
        }

        Span<DamageRect> moved = stackalloc DamageRect[DisplayDamage.MaxRects + MaxLossyRects];
        int n = 0;
        for (int i = 0; i < s.Fresh.Count; i++)
        {
            moved[n++] = s.Fresh[i].Intersect(source).Offset(dx, dy).Intersect(width, height);
        }

        foreach (var l in s.Lossy)
        {
            moved[n++] = l.Rect.Intersect(source).Offset(dx, dy).Intersect(width, height);
        }

        foreach (var r in moved[..n])
        {
            if (!r.IsEmpty)
            {
                s.Fresh.Add(r);
            }
        }
    }

    /// <summary>
    /// A draw went to the client over <paramref name="area"/>: the lossy rectangles it touches are not settled (their
    /// lossless refresh waits until nothing has drawn over them for the refine delay).
    /// </summary>
    public void TouchLossy(uint surface, in DamageRect area, long now)
    {
        if (!_surfaces.TryGetValue(surface, out var s))
        {
            return;
        }

        var list = s.Lossy;
        for (int i = 0; i < list.Count; i++)
        {
            if (list[i].Rect.Intersects(area))
            {
                list[i] = list[i] with { Stamp = now };
            }
        }
    }

    /// <summary>Forgets a surface (created anew or destroyed: the client has nothing of it to correct).</summary>
    public void Remove(uint surface) => _surfaces.Remove(surface);

    public void Clear()
    {
        _surfaces.Clear();
        _admitted = null;
    }

    /// <summary>
    /// Takes the next band to send (and removes it from what is pending): the top rows, at most
    /// <paramref name="maxPixels"/> pixels, of the smallest fresh rectangle of any surface; with nothing fresh, of the
    /// oldest lossy rectangle last sent at least <paramref name="refineDelay"/> ago (<paramref name="refine"/> true: to
    /// be sent losslessly). With nothing fresh anywhere, no fresh damage touches it: it has settled. A fresh rectangle
    /// of more than <see cref="LargePixels"/> is taken only when <paramref name="allowLarge"/> (the caller paces large
    /// updates so that a busy region never takes the whole link), except the rest of one already begun;
    /// <paramref name="large"/> tells the caller the band belongs to such a rectangle; <paramref name="rectArea"/> is the
    /// area of the fresh rectangle the band was cut from (band included), for choosing its encoding.
    /// </summary>
    public bool TryTake(int maxPixels, long now, long refineDelay, bool allowLarge, out uint surface, out DamageRect band, out bool refine, out bool large, out long rectArea)
    {
        surface = 0;
        band = default;
        refine = false;
        large = false;
        rectArea = 0;
        Surface? best = null;
        int bestIndex = -1;
        long bestKey = long.MaxValue;
        bool pendingLarge = false;
        foreach (var (id, s) in _surfaces)
        {
            for (int i = 0; i < s.Fresh.Count; i++)
            {
                var r = s.Fresh[i];
                if (r.Area > LargePixels && !allowLarge && _admitted != (id, r.Left, r.Right, r.Bottom))
                {
                    pendingLarge = true;
                    continue;
                }

                if (r.Area < bestKey)
                {
                    (bestKey, best, bestIndex, surface) = (r.Area, s, i, id);
                }
            }
        }

        if (best is not null)
        {
            var rect = best.Fresh[bestIndex];
            rectArea = rect.Area;
            large = rect.Area > LargePixels || _admitted == (surface, rect.Left, rect.Right, rect.Bottom);
            band = TopBand(rect, maxPixels);
            var left = rect with { Top = band.Bottom };
            _admitted = large && !left.IsEmpty ? (surface, left.Left, left.Right, left.Bottom) : _admitted;
            best.Fresh.ReplaceAt(bestIndex, left);
            Drop(surface, best);
            return true;
        }

        if (pendingLarge)
        {
            // Fresh damage waits for its pace: a lossless refresh of settled areas now would only delay it.
            return false;
        }

        foreach (var (id, s) in _surfaces)
        {
            for (int i = 0; i < s.Lossy.Count; i++)
            {
                var l = s.Lossy[i];
                if (l.Stamp < bestKey && now - l.Stamp >= refineDelay)
                {
                    (bestKey, best, bestIndex, surface) = (l.Stamp, s, i, id);
                }
            }
        }

        if (best is null)
        {
            return false;
        }

        var lossy = best.Lossy[bestIndex];
        band = TopBand(lossy.Rect, maxPixels);
        var rest = lossy.Rect with { Top = band.Bottom };
        if (rest.IsEmpty)
        {
            best.Lossy.RemoveAt(bestIndex);
        }
        else
        {
            best.Lossy[bestIndex] = lossy with { Rect = rest };
        }

        refine = true;
        Drop(surface, best);
        return true;
    }

    /// <summary>
    /// Records what a band sent: a lossy band becomes (or renews) a lossy rectangle; a lossless one makes the lossy
    /// rectangles it covers exact. A lossy rectangle only partly covered stays (refreshing more than needed is safe).
    /// </summary>
    public void OnWritten(uint surface, DamageRect band, bool lossy, long now)
    {
        if (lossy)
        {
            AddLossy(Get(surface), band, now);
        }
        else if (_surfaces.TryGetValue(surface, out var s))
        {
            RemoveCovered(s.Lossy, band);
            Drop(surface, s);
        }
    }

    /// <summary>JPEG codes 16-row blocks (4:2:0): a band cut elsewhere would pad and blur its last block at every seam.</summary>
    private const int BandRowMultiple = 16;

    private static DamageRect TopBand(DamageRect rect, int maxPixels)
    {
        int rows = maxPixels / Math.Max(1, rect.Width);
        if (rows < rect.Height && rows >= BandRowMultiple)
        {
            rows = rows / BandRowMultiple * BandRowMultiple; // never more pixels than asked (the injector's pieces are bounded)
        }

        return rect with { Bottom = rect.Top + Math.Clamp(rows, 1, rect.Height) };
    }

    private static void AddLossy(Surface s, DamageRect rect, long now)
    {
        var list = s.Lossy;
        for (int i = 0; i < list.Count; i++)
        {
            if (list[i].Rect.Contains(rect))
            {
                list[i] = list[i] with { Stamp = now };
                return;
            }
        }

        RemoveCovered(list, rect);
        list.Add(new LossyRect(rect, now));
        while (list.Count > MaxLossyRects)
        {
            int bi = 0, bj = 1;
            long best = long.MaxValue;
            for (int i = 0; i < list.Count; i++)
            {
                for (int j = i + 1; j < list.Count; j++)
                {
                    long cost = list[i].Rect.Union(list[j].Rect).Area - list[i].Rect.Area - list[j].Rect.Area;
                    if (cost < best)
                    {
                        (best, bi, bj) = (cost, i, j);
                    }
                }
            }

            var merged = new LossyRect(list[bi].Rect.Union(list[bj].Rect), Math.Max(list[bi].Stamp, list[bj].Stamp));
            list.RemoveAt(bj);
            list.RemoveAt(bi);
            RemoveCovered(list, merged.Rect);
            list.Add(merged);
        }
    }

    private static void RemoveCovered(List<LossyRect> list, in DamageRect cover)
    {
        for (int i = list.Count - 1; i >= 0; i--)
        {
            if (cover.Contains(list[i].Rect))
            {
                list.RemoveAt(i);
            }
        }
    }

    private Surface Get(uint surface)
    {
        if (!_surfaces.TryGetValue(surface, out var s))
        {
            _surfaces[surface] = s = new Surface();
        }

        return s;
    }

    private void Drop(uint id, Surface s)
    {
        if (s.Fresh.IsEmpty && s.Lossy.Count == 0)
        {
            _surfaces.Remove(id);
        }
    }

    private sealed class Surface
    {
        public DisplayDamage Fresh { get; } = new();

        public List<LossyRect> Lossy { get; } = new(MaxLossyRects + 1);
    }
}
