using System.Diagnostics;
using Accel.Core.Spice.Canvas;
using Accel.Core.Spice.Protocol;
using Accel.Core.Spice.Protocol.Framing;
using Accel.Core.Spice.Protocol.Messages;
using NetemDesk;

namespace NetemBench.Probe;

/// <summary>A frame marker as the client showed it: its time code and tag, when it was drawn and when it became visible (unix ms).</summary>
public readonly record struct FrameSeen(uint Code, int Tag, long DrawnUnixMs, long VisibleUnixMs)
{
    public long LatencyMs => VisibleUnixMs - DrawnUnixMs;
}

/// <summary>
/// The probe's picture of the primary surface, kept as a client keeps it: every display message is applied to a
/// <see cref="DisplayCanvas"/> (the decoders of Spice.Codecs and the rasteriser the server edge uses, checked pixel for
/// pixel against spice-gtk). After each message the <see cref="FrameMarker"/> at <see cref="MarkerAt"/> is read from the
/// pixels, so what is measured is what the client would show, whatever draw commands or codecs carried it: plain
/// spice-server's draws and the edge canvas's re-encoded images alike. With <see cref="Photos"/> set (the
/// slideshow) a marker only starts a photo; the photo is complete when every 64×64 tile of the screen is nearer to it
/// than to any other photo of the set (PSNR) and at least <see cref="TileMatchDb"/> near.
/// </summary>
public sealed class ProbePicture : IDisposable
{
    /// <summary>Tile size of the completeness check.</summary>
    public const int Tile = 64;

    /// <summary>
    /// A tile shows its photo at this PSNR or more (and nearer than to any other photo): JPEG at quality 30 of these
    /// photos stays above it in every tile (FrameMarkerTests measure it), a tile of another photo is rejected by the
    /// nearest-photo rule even where two photos look alike.
    /// </summary>
    public const double TileMatchDb = 26;

    private readonly Lock _gate = new();
    private readonly DisplayCanvas _canvas = new();
    private readonly List<FrameSeen> _seen = [];
    private readonly List<FrameSeen> _complete = [];
    private uint? _shownCode;
    private FrameSeen? _newestSeen;
    private FrameSeen? _newestComplete;
    private (uint Code, int Tag, long DrawnUnixMs, uint[] Expected, bool[] Matched, int Left)? _pending;
    private string? _error;

    public ProbePicture((int X, int Y) markerAt, IReadOnlyList<uint[]>? photos = null)
    {
        MarkerAt = markerAt;
        Photos = photos;
        // The probe announces spice-gtk's DISPLAY_INIT: its image cache size bounds the canvas's.
        _canvas.Images.CacheCapacityPixels = SpiceDisplayInit.SpiceGtkDefault.PixmapCacheSize;
    }

    /// <summary>Where the watched strip's top-left is on the primary surface.</summary>
    public (int X, int Y) MarkerAt { get; }

    /// <summary>The photos (0x00RRGGBB, the primary surface's size) a marker's tag numbers; null when only markers are watched.</summary>
    public IReadOnlyList<uint[]>? Photos { get; }

    /// <summary>Why the picture stopped following the display (a message the canvas rejected); null while it follows.</summary>
    public string? Error
    {
        get
        {
            lock (_gate)
            {
                return _error;
            }
        }
    }

    /// <summary>Applies one server → client display message that arrived at <paramref name="arrival"/> (Stopwatch timestamp).</summary>
    internal void Apply(in SpiceMessage message, long arrival)
    {
        lock (_gate)
        {
            if (_error is not null)
            {
                return;
            }

            try
            {
                _canvas.Apply(message.Type, message.Body);
            }
            catch (SpiceProtocolException ex)
            {
                _error = $"the probe's canvas rejected display message {message.Type}: {ex.Message}";
                return;
            }

            if (!_canvas.PrimaryId.HasValue || !_canvas.TryGetSurface(_canvas.PrimaryId.Value, out var surface) || surface.Bpp != 32)
            {
                return;
            }

            // Draws name their box; a video stream frame may be anywhere on the screen; nothing else changes visible pixels.
            ScreenRect touched;
            if (ProbeDraws.TryReadDrawBase(message, out var id, out var b))
            {
                if (id != _canvas.PrimaryId)
                {
                    return;
                }

                touched = b;
            }
            else if (message.Type is (ushort)SpiceDisplayMsg.StreamData or (ushort)SpiceDisplayMsg.StreamDataSized)
            {
                touched = ScreenRect.FromGeometry(0, 0, surface.Width, surface.Height);
            }
            else
            {
                return;
            }

            var visible = UnixMs(arrival);
            var pixels = Pixels(surface);
            var stride = surface.Stride / 4;
            var strip = ScreenRect.FromGeometry(MarkerAt.X, MarkerAt.Y, FrameMarker.Width, FrameMarker.Height);
            if (touched.Intersects(strip) && MarkerAt.X + FrameMarker.Width <= surface.Width && MarkerAt.Y + FrameMarker.Height <= surface.Height
                && FrameMarker.TryRead(pixels, stride, MarkerAt.X, MarkerAt.Y, out var code, out var tag) && code != _shownCode)
            {
                _shownCode = code;
                if (FrameMarker.DrawnUnixMs(code, visible) is { } drawn)
                {
                    _newestSeen = new FrameSeen(code, tag, drawn, visible);
                    _seen.Add(_newestSeen.Value);
                    StartPhoto(code, tag, drawn, surface.Width, surface.Height);
                    touched = ScreenRect.FromGeometry(0, 0, surface.Width, surface.Height);
                }
            }

            CheckPhoto(pixels, stride, surface.Width, surface.Height, touched, visible);
        }
    }

    /// <summary>Markers that became visible, in order (copy).</summary>
    public List<FrameSeen> Seen()
    {
        lock (_gate)
        {
            return [.. _seen];
        }
    }

    /// <summary>Photos that became complete, in order (copy); empty without <see cref="Photos"/>.</summary>
    public List<FrameSeen> Complete()
    {
        lock (_gate)
        {
            return [.. _complete];
        }
    }

    /// <summary>
    /// The frame the client shows now: the newest marker visible, or with <paramref name="complete"/> the newest photo
    /// complete (not forgotten by <see cref="Clear"/>); null before the first.
    /// </summary>
    public FrameSeen? Newest(bool complete)
    {
        lock (_gate)
        {
            return complete ? _newestComplete : _newestSeen;
        }
    }

    /// <summary>The photo still incomplete, if any: which tiles do not show it yet and how near they are (a failure's explanation).</summary>
    public string? Pending()
    {
        lock (_gate)
        {
            if (_pending is not { } p || !_canvas.PrimaryId.HasValue || !_canvas.TryGetSurface(_canvas.PrimaryId.Value, out var surface))
            {
                return null;
            }

            var columns = (surface.Width + Tile - 1) / Tile;
            var missing = Enumerable.Range(0, p.Matched.Length).Where(i => !p.Matched[i]).ToList();
            var first = missing.Take(3).Select(i =>
            {
                int x = i % columns * Tile, y = i / columns * Tile;
                var own = TilePsnr(Pixels(surface), surface.Stride / 4, p.Expected, surface.Width, surface.Height, x, y);
                return $"({x},{y}) {own:0.0} dB";
            });
            return $"photo {p.Tag}: {missing.Count} of {p.Matched.Length} tiles not shown, e.g. {string.Join(", ", first)}";
        }
    }

    /// <summary>Display messages of <paramref name="type"/> applied so far (e.g. 123 STREAM_DATA: MJPEG video frames).</summary>
    public long Applied(ushort type)
    {
        lock (_gate)
        {
            return _canvas.Applied.GetValueOrDefault(type);
        }
    }

    /// <summary>Forgets the markers and photos seen so far (the start of a measurement).</summary>
    public void Clear()
    {
        lock (_gate)
        {
            _seen.Clear();
            _complete.Clear();
        }
    }

    /// <summary>Copies <paramref name="region"/> of the primary surface into <paramref name="destination"/> (0x00RRGGBB); false before the region exists.</summary>
    public bool TryCopy(ScreenRect region, Span<uint> destination)
    {
        lock (_gate)
        {
            if (!_canvas.PrimaryId.HasValue || !_canvas.TryGetSurface(_canvas.PrimaryId.Value, out var surface) || surface.Bpp != 32
                || region.Left < 0 || region.Top < 0 || region.Right > surface.Width || region.Bottom > surface.Height)
            {
                return false;
            }

            int w = region.Right - region.Left, stride = surface.Stride / 4;
            var pixels = Pixels(surface);
            for (var y = region.Top; y < region.Bottom; y++)
            {
                pixels.Slice((y * stride) + region.Left, w).CopyTo(destination.Slice((y - region.Top) * w, w));
            }

            return true;
        }
    }

    /// <summary>PSNR (dB, over R, G and B) of <paramref name="shown"/> against <paramref name="intended"/>; +∞ when equal.</summary>
    public static double Psnr(ReadOnlySpan<uint> shown, ReadOnlySpan<uint> intended)
    {
        var mse = SquaredError(shown, intended) / (3.0 * shown.Length);
        return mse == 0 ? double.PositiveInfinity : 10 * Math.Log10(255.0 * 255.0 / mse);
    }

    private static long SquaredError(ReadOnlySpan<uint> a, ReadOnlySpan<uint> b)
    {
        long sum = 0;
        for (var i = 0; i < a.Length; i++)
        {
            uint p = a[i], q = b[i];
            int dr = (int)((p >> 16) & 0xFF) - (int)((q >> 16) & 0xFF), dg = (int)((p >> 8) & 0xFF) - (int)((q >> 8) & 0xFF), db = (int)(p & 0xFF) - (int)(q & 0xFF);
            sum += (dr * dr) + (dg * dg) + (db * db);
        }

        return sum;
    }

    private void StartPhoto(uint code, int tag, long drawn, int width, int height)
    {
        if (Photos is null)
        {
            return;
        }

        if (tag >= Photos.Count || Photos[tag].Length != width * height)
        {
            _error = $"a marker names photo {tag} on a {width}x{height} screen; the probe has {Photos.Count} photos of {Photos[0].Length} pixels";
            return;
        }

        var photo = (uint[])Photos[tag].Clone();
        // The marker is part of the photo as drawn.
        FrameMarker.Stamp(photo, width, MarkerAt.X, MarkerAt.Y, code, tag);
        var tiles = ((width + Tile - 1) / Tile) * ((height + Tile - 1) / Tile);
        _pending = (code, tag, drawn, photo, new bool[tiles], tiles);
    }

    private void CheckPhoto(ReadOnlySpan<uint> pixels, int stride, int width, int height, ScreenRect touched, long visible)
    {
        if (_pending is not { } p)
        {
            return;
        }

        var columns = (width + Tile - 1) / Tile;
        int tx0 = Math.Max(0, touched.Left / Tile), ty0 = Math.Max(0, touched.Top / Tile);
        int tx1 = Math.Min(columns, (touched.Right + Tile - 1) / Tile), ty1 = Math.Min((height + Tile - 1) / Tile, (touched.Bottom + Tile - 1) / Tile);
        var left = p.Left;
        for (var ty = ty0; ty < ty1; ty++)
        {
            for (var tx = tx0; tx < tx1; tx++)
            {
                var i = (ty * columns) + tx;
                var match = TileMatches(pixels, stride, p.Expected, p.Tag, width, height, tx * Tile, ty * Tile);
                if (match != p.Matched[i])
                {
                    p.Matched[i] = match;
                    left += match ? -1 : 1;
                }
            }
        }

        _pending = p with { Left = left };
        if (left == 0)
        {
            _newestComplete = new FrameSeen(p.Code, p.Tag, p.DrawnUnixMs, visible);
            _complete.Add(_newestComplete.Value);
            _pending = null;
        }
    }

    private bool TileMatches(ReadOnlySpan<uint> pixels, int stride, uint[] expected, int tag, int width, int height, int x, int y)
    {
        var own = TilePsnr(pixels, stride, expected, width, height, x, y);
        if (own < TileMatchDb)
        {
            return false;
        }

        for (var i = 0; i < Photos!.Count; i++)
        {
            if (i != tag && TilePsnr(pixels, stride, Photos[i], width, height, x, y) >= own)
            {
                return false;
            }
        }

        return true;
    }

    private static double TilePsnr(ReadOnlySpan<uint> pixels, int stride, uint[] expected, int width, int height, int x, int y)
    {
        int w = Math.Min(Tile, width - x), h = Math.Min(Tile, height - y);
        long sum = 0;
        for (var row = y; row < y + h; row++)
        {
            sum += SquaredError(pixels.Slice((row * stride) + x, w), expected.AsSpan((row * width) + x, w));
        }

        var mse = sum / (3.0 * w * h);
        return mse == 0 ? double.PositiveInfinity : 10 * Math.Log10(255.0 * 255.0 / mse);
    }

    private static unsafe ReadOnlySpan<uint> Pixels(PixmanImage surface) => new(surface.Pixels, checked((int)(surface.Bytes / 4)));

    private static long UnixMs(long arrival) =>
        DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() - (long)Stopwatch.GetElapsedTime(arrival).TotalMilliseconds;

    public void Dispose()
    {
        lock (_gate)
        {
            _canvas.Dispose();
        }
    }
}
