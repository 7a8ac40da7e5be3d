namespace Accel.Core.Spice.Display;

/// <summary>
/// The canvas's encode-to-fit rule (docs/display-path.md, "Encode to fit"): photo-like pixels go lossy when sending them
/// losslessly (about 2 bytes a pixel) would hold the link longer than <see cref="Horizon"/> at its measured rate, at a
/// JPEG quality that follows the rate (<see cref="CanvasRefreshWriter.QualityFor"/>). A rate of 0 (not yet known, or
/// the path has not yet shown it is the limit) keeps everything lossless.
/// <para>
/// A draw is judged with the photo draws that came just before it (<see cref="BurstMemory"/>): X servers cut a large
/// image into strips (Xspice: 63 rows of a 1024-pixel screen), each small enough on its own, and a photo's first strips
/// went out losslessly at 12 × the bytes of its JPEG. Photo draws are those spice-server itself coded as photos (QUIC
/// or JPEG); a terminal's glyphs (LZ, GLZ) never add up to a burst.
/// </para>
/// </summary>
internal sealed class CanvasEncodeToFit(TimeProvider time)
{
    /// <summary>The longest a lossless area may hold the link.</summary>
    public static readonly TimeSpan Horizon = TimeSpan.FromMilliseconds(50);

    /// <summary>Time constant of the decaying sum of photo pixels drawn just before.</summary>
    public static readonly TimeSpan BurstMemory = TimeSpan.FromMilliseconds(100);

    /// <summary>
    /// A lossy rectangle untouched this long is sent again losslessly: a slideshow's photo is replaced before its lossless
    /// copy would go (at 300 ms it cost 3 × plain's bytes), and the picture is still exact within 2 s of going quiet.
    /// </summary>
    public static readonly TimeSpan RefineAfter = TimeSpan.FromSeconds(1);

    /// <summary>Settled lossy areas are refreshed losslessly only after no photo has been drawn for this long.</summary>
    public static readonly TimeSpan RefineQuiet = TimeSpan.FromMilliseconds(250);

    private readonly long _refineAfterTicks = (long)(RefineAfter.TotalSeconds * time.TimestampFrequency);

    private double _burstPixels;
    private long _burstStamp;
    private long _lossyStamp;
    private long _drawStamp;

    /// <summary>A draw arrived from spice-server at <paramref name="now"/>; <paramref name="photo"/>: it brings a photo.</summary>
    public void OnDraw(bool photo, long now)
    {
        if (photo)
        {
            _drawStamp = now;
        }
    }

    /// <summary>
    /// Whether photos are being drawn (one within <see cref="RefineQuiet"/>): a lossless refresh of an area sent lossy
    /// waits, because a slideshow replaces its photo just as the photo has been still for the refine delay, and the
    /// lossless copy of the old photo (108 KB a strip) delayed the new one. A terminal or a clock never delays it.
    /// </summary>
    public bool Drawing(long now) => _drawStamp != 0 && time.GetElapsedTime(_drawStamp, now) < RefineQuiet;

    /// <summary>How long (timestamp ticks) a lossy rectangle must have been still to be refreshed losslessly at <paramref name="now"/>: never while photos are drawn.</summary>
    public long RefineDelay(long now) => Drawing(now) ? long.MaxValue : _refineAfterTicks;

    /// <summary>Whether a lossy update is still going on (a band went lossy within <see cref="BurstMemory"/>).</summary>
    public bool Continuing(long now) => _lossyStamp != 0 && time.GetElapsedTime(_lossyStamp, now) < BurstMemory;

    /// <summary>Records the quality chosen for a band of fresh damage at <paramref name="now"/>.</summary>
    public void OnChosen(int quality, long now)
    {
        if (quality > 0)
        {
            _lossyStamp = now;
        }
    }

    /// <summary>Whether <paramref name="area"/> pixels sent losslessly would hold a path of <paramref name="rate"/> bytes/s too long.</summary>
    public static bool TooLongLossless(long area, long rate) => rate > 0 && area * 2 > rate * Horizon.TotalSeconds;

    /// <summary>
    /// Whether a draw bringing a new image over <paramref name="area"/> pixels holds the link too long losslessly, counted
    /// with the photo draws just before it when <paramref name="photo"/> (and then added to them).
    /// </summary>
    public bool TooLongLossless(long area, bool photo, long rate)
    {
        if (!photo)
        {
            return TooLongLossless(area, rate);
        }

        long now = time.GetTimestamp();
        double decay = _burstStamp == 0 ? 0 : Math.Exp(-time.GetElapsedTime(_burstStamp, now).TotalSeconds / BurstMemory.TotalSeconds);
        _burstPixels = (_burstPixels * decay) + area;
        _burstStamp = now;
        return TooLongLossless((long)_burstPixels, rate);
    }

    /// <summary>
    /// The JPEG quality for the next band of fresh damage (0: lossless), recorded in the metrics. The choice is made on
    /// all the fresh damage pending (<paramref name="pendingArea"/>), not on what is left of one rectangle, and an update
    /// that started lossy stays lossy to its end (<paramref name="continuing"/>): a photo's last bands, each small enough
    /// on its own, went out losslessly at 14 × the bytes of the JPEG bands before them.
    /// </summary>
    public static int Quality(long pendingArea, long rate, bool continuing = false)
    {
        if (!(continuing && rate > 0) && !TooLongLossless(pendingArea, rate))
        {
            return 0;
        }

        int quality = CanvasRefreshWriter.QualityFor(rate);
        DisplayCanvasMetrics.Quality.Record(quality);
        return quality;
    }
}
