namespace Accel.Core.Spice.Display;

/// <summary>
/// The canvas's encode-to-fit rule (docs/display-path.md, "Encode to fit"): photo-like pixels go lossy when sending them
/// losslessly (about 2 bytes a pixel) would hold the link longer than <see cref="Horizon"/> at its measured rate, at a
/// JPEG quality that follows the rate (<see cref="CanvasRefreshWriter.QualityFor"/>). A rate of 0 (not yet known, or
/// the path has not yet shown it is the limit) keeps everything lossless.
/// </summary>
internal static class CanvasEncodeToFit
{
    /// <summary>The longest a lossless area may hold the link.</summary>
    public static readonly TimeSpan Horizon = TimeSpan.FromMilliseconds(50);

    /// <summary>Whether <paramref name="area"/> pixels sent losslessly would hold a path of <paramref name="rate"/> bytes/s too long.</summary>
    public static bool TooLongLossless(long area, long rate) => rate > 0 && area * 2 > rate * Horizon.TotalSeconds;

    /// <summary>The JPEG quality for a fresh rectangle of <paramref name="rectArea"/> pixels (0: lossless), recorded in the metrics.</summary>
    public static int Quality(long rectArea, long rate)
    {
        if (!TooLongLossless(rectArea, rate))
        {
            return 0;
        }

        int quality = CanvasRefreshWriter.QualityFor(rate);
        DisplayCanvasMetrics.Quality.Record(quality);
        return quality;
    }
}
