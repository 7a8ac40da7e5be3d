using System.Buffers;
using Accel.Core.Spice.Canvas;

namespace Accel.Core.Spice.Display;

/// <summary>
/// Writes the canvas's refreshes for <see cref="Policies.DisplayCanvasPolicy"/> (under its lock): takes bands from the
/// <see cref="CanvasRefreshQueue"/> in its order, chooses lossless or JPEG with <see cref="CanvasEncodeToFit"/>, writes
/// DRAW_COPY messages (<see cref="CanvasRefreshWriter"/>) and counts them; without previews, paces large ones.
/// </summary>
internal sealed class CanvasRefresher(DisplayCanvas canvas, ClientDisplayState client, CanvasRefreshQueue queue, CanvasEncodeToFit fit,
    TimeProvider time, bool lossy, bool paced, Func<long> deliveryRate, Func<long> linkRate)
{
    /// <summary>Without previews, large refreshes use at most a quarter of the measured rate, and wait at most 250 ms.</summary>
    private const double LargeShareInverse = 4;

    /// <summary>
    /// Damage of at most this many pixels (a key echo's few glyphs) is an echo: refreshed as soon as the budget has room,
    /// not only once the backlog is under half of it (a few hundred bytes, where waiting cost the echo about an RTT), and
    /// sent ahead as a preview (<see cref="CanvasPreviewer"/>).
    /// </summary>
    public const int EchoPixels = 4096;

    private static readonly TimeSpan MaxLargeWait = TimeSpan.FromMilliseconds(250);

    private readonly DisplayCanvas _canvas = canvas;
    private readonly ClientDisplayState _client = client;
    private readonly CanvasRefreshQueue _queue = queue;
    private readonly CanvasEncodeToFit _fit = fit;
    private readonly TimeProvider _time = time;
    private readonly bool _lossy = lossy;
    private readonly bool _paced = paced;
    private readonly Func<long> _deliveryRate = deliveryRate;
    private readonly Func<long> _linkRate = linkRate;
    private long _nextLarge;

    public long Rects { get; private set; }

    public long Bytes { get; private set; }

    /// <summary>Refresh rectangles sent as JPEG (each is refreshed losslessly once settled).</summary>
    public long LossyRects { get; private set; }

    /// <summary>Writes everything pending losslessly (cut in bands of at most <paramref name="maxPixels"/>): the client ends equal to the canvas.</summary>
    public long RefreshAll(IBufferWriter<byte> output, int maxPixels)
    {
        long written = 0;
        for (long n; (n = WriteBand(output, maxPixels, final: true)) >= 0;)
        {
            written += n;
        }

        return written;
    }

    /// <summary>Writes bands in the queue's order until about <paramref name="allowance"/> bytes are written (at least one band).</summary>
    public long RefreshWithin(IBufferWriter<byte> output, long allowance, int maxPixels)
    {
        long written = 0;
        for (long n; written < allowance && (n = WriteBand(output, maxPixels, final: false)) >= 0;)
        {
            written += n;
        }

        return written;
    }

    /// <summary>True when fresh damage of echo size (<see cref="EchoPixels"/>) is pending.</summary>
    public bool HasEcho => _queue.SmallestFresh <= EchoPixels;

    /// <summary>Writes echo-sized fresh damage (smallest first) while it is there and about <paramref name="allowance"/> bytes allow.</summary>
    public long RefreshEchoes(IBufferWriter<byte> output, long allowance)
    {
        long written = 0;
        for (long n; written < allowance && (n = WriteEcho(output)) >= 0;)
        {
            written += n;
        }

        return written;
    }

    /// <summary>Writes the smallest fresh damage if it is echo-sized; -1 when there is none.</summary>
    public long WriteEcho(IBufferWriter<byte> output) => HasEcho ? WriteBand(output, EchoPixels, final: false) : -1;

    /// <summary>
    /// Writes the next band the queue gives and records it; -1 when nothing is ready to send (nothing pending, or only
    /// lossy rectangles that have not settled yet; <paramref name="final"/> takes those too, losslessly).
    /// </summary>
    public long WriteBand(IBufferWriter<byte> output, int maxPixels, bool final)
    {
        long now = _time.GetTimestamp();
        if (!_queue.TryTake(maxPixels, now, final ? 0 : _fit.RefineDelay(now), final || now >= _nextLarge, out uint id, out var band, out bool refine, out bool large, out long rectArea))
        {
            return -1;
        }

        if (!_canvas.TryGetSurface(id, out var surface) || !CanvasRefreshWriter.Supports(surface))
        {
            return 0;
        }

        int quality = final || refine || !_lossy ? 0 : CanvasEncodeToFit.Quality(Math.Max(rectArea, _queue.FreshArea + band.Area), _linkRate(), _fit.Continuing(now));
        _fit.OnChosen(quality, now);
        long n = CanvasRefreshWriter.Write(output, id, surface, band, quality, out bool lossy, _client.EdgeGlz);
        _queue.OnWritten(id, band, lossy, now);
        Rects++;
        Bytes += n;
        DisplayCanvasMetrics.RefreshRects.Add(1);
        DisplayCanvasMetrics.RefreshBytes.Add(n);
        if (lossy)
        {
            LossyRects++;
            DisplayCanvasMetrics.LossyRects.Add(1);
        }

        long rate = _deliveryRate();
        if (large && rate > 0 && _paced)
        {
            // Without previews (no datagrams to carry echoes past the stream), large updates (a scrolling terminal,
            // an animation) take at most 1 / LargeShareInverse of the link: the next waits until this one would have
            // left at that share, so an echo never finds the budget full of them. Small ones are never paced. With
            // previews they use the whole budget: paced, a full-screen photo took longer than the photos changed.
            // Bounded, so a rate still being measured (tiny at first) never stalls the picture.
            double wait = Math.Min(n * LargeShareInverse / rate, MaxLargeWait.TotalSeconds);
            _nextLarge = Math.Min(Math.Max(_nextLarge, now) + (long)(wait * _time.TimestampFrequency), now + (long)(MaxLargeWait.TotalSeconds * _time.TimestampFrequency));
        }

        return n;
    }
}
