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

    public static readonly Counter<double> AbsorbTime = AccelMetrics.Meter.CreateCounter<double>(
        "spiceaccel.display.absorb_time", "s", "Time display channels spent absorbing draws (damage pending)");
}
