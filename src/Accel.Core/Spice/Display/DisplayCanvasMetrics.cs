using System.Diagnostics.Metrics;
using Accel.Core.Diagnostics;

namespace Accel.Core.Spice.Display;

/// <summary>The canvas coalescing's instruments (on the <see cref="AccelMetrics.MeterName"/> meter).</summary>
internal static class DisplayCanvasMetrics
{
    public static readonly Counter<long> DrawsAbsorbed = AccelMetrics.Meter.CreateCounter<long>(
        "spiceaccel.display.draws_absorbed", "{message}", "Display draws the server edge applied to its canvas and did not forward (their area is refreshed from the canvas)");

    public static readonly Counter<long> RefreshRects = AccelMetrics.Meter.CreateCounter<long>(
        "spiceaccel.display.refresh_rects", "{rect}", "DRAW_COPY messages the server edge wrote from its canvas");

    public static readonly Counter<long> RefreshBytes = AccelMetrics.Meter.CreateCounter<long>(
        "spiceaccel.display.refresh_bytes", "By", "Bytes of the DRAW_COPY messages the server edge wrote from its canvas");

    public static readonly Counter<long> LossyRects = AccelMetrics.Meter.CreateCounter<long>(
        "spiceaccel.display.refresh_lossy_rects", "{rect}", "Canvas refresh rectangles sent as JPEG to fit the link (each is sent again losslessly once settled)");

    public static readonly Counter<long> GlzRects = AccelMetrics.Meter.CreateCounter<long>(
        "spiceaccel.display.refresh_glz_rects", "{rect}", "Canvas refresh rectangles sent as GLZ (the server edge continues the client's GLZ stream once it absorbed a GLZ image)");

    public static readonly Histogram<int> Quality = AccelMetrics.Meter.CreateHistogram<int>(
        "spiceaccel.display.refresh_jpeg_quality", "1", "JPEG quality chosen for lossy canvas refreshes from the measured delivery rate");

    public static readonly Counter<long> PreviewsSent = AccelMetrics.Meter.CreateCounter<long>(
        "spiceaccel.display.previews_sent", "{message}", "Small display updates the server edge also sent as a datagram ahead of the display stream");

    public static readonly Counter<long> PreviewsSkippedHot = AccelMetrics.Meter.CreateCounter<long>(
        "spiceaccel.display.previews_skipped_hot", "{message}", "Small display updates not sent ahead as a preview because they drew where the screen is busy (a flood's own lines, not an echo)");

    public static readonly Counter<long> PreviewBytes = AccelMetrics.Meter.CreateCounter<long>(
        "spiceaccel.display.preview_bytes", "By", "Bytes of preview datagrams (the redundancy they cost)");

    public static readonly Counter<long> PreviewsShown = AccelMetrics.Meter.CreateCounter<long>(
        "spiceaccel.display.previews_shown", "{message}", "Preview datagrams the client edge showed before the stream caught up");

    public static readonly Counter<long> PreviewsLate = AccelMetrics.Meter.CreateCounter<long>(
        "spiceaccel.display.previews_late", "{message}", "Preview datagrams the client edge dropped because the stream had delivered their moment already");

    public static readonly Counter<long> PreviewsMalformed = AccelMetrics.Meter.CreateCounter<long>(
        "spiceaccel.display.previews_malformed", "{datagram}", "Datagrams the client edge could not read as a display preview (dropped)");

    public static readonly Counter<double> AbsorbTime = AccelMetrics.Meter.CreateCounter<double>(
        "spiceaccel.display.absorb_time", "s", "Time display channels spent absorbing draws (damage pending)");
}
