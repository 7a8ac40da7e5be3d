using System.Diagnostics.Metrics;
using Accel.Core.Diagnostics;

namespace Accel.Core.Spice.Display;

/// <summary>The canvas coalescing's instruments (on the <see cref="AccelMetrics.MeterName"/> meter).</summary>
internal static class DisplayCanvasMetrics
{
    private static readonly Meter s_meter = new(AccelMetrics.MeterName, "1.0");

    public static readonly Counter<long> DrawsAbsorbed = s_meter.CreateCounter<long>(
        "spiceaccel.display.draws_absorbed", "{message}", "Display draws the server edge applied to its canvas and did not forward (their area is refreshed from the canvas)");

    public static readonly Counter<long> RefreshRects = s_meter.CreateCounter<long>(
        "spiceaccel.display.refresh_rects", "{rect}", "DRAW_COPY messages the server edge wrote from its canvas");

    public static readonly Counter<long> RefreshBytes = s_meter.CreateCounter<long>(
        "spiceaccel.display.refresh_bytes", "By", "Bytes of the DRAW_COPY messages the server edge wrote from its canvas");

    public static readonly Counter<long> LossyRects = s_meter.CreateCounter<long>(
        "spiceaccel.display.refresh_lossy_rects", "{rect}", "Canvas refresh rectangles sent as JPEG to fit the link (each is sent again losslessly once settled)");

    public static readonly Histogram<int> Quality = s_meter.CreateHistogram<int>(
        "spiceaccel.display.refresh_jpeg_quality", "1", "JPEG quality chosen for lossy canvas refreshes from the measured delivery rate");

    public static readonly Counter<double> AbsorbTime = s_meter.CreateCounter<double>(
        "spiceaccel.display.absorb_time", "s", "Time display channels spent absorbing draws (damage pending)");
}
