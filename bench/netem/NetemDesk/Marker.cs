namespace NetemDesk;

/// <summary>
/// The freshness marker: a solid rectangle whose 24-bit colour is the time it was drawn, in units of 4 ms
/// (wraps every ~18.6 h). Drawn with XFillRectangle after each frame, so its arrival means the frame arrived.
/// </summary>
public static class Marker
{
    private const long Units = 1 << 24;
    private const long UnitMs = 4;

    public static uint MarkerColor(long unixMs) => (uint)((unixMs / UnitMs) & (Units - 1));

    /// <summary>Age in ms of a marker colour at <paramref name="nowUnixMs"/>; -1 when it cannot be a recent marker (future or over an hour old).</summary>
    public static long MarkerAgeMs(uint color, long nowUnixMs)
    {
        var now = (nowUnixMs / UnitMs) & (Units - 1);
        var age = (now - (color & (Units - 1)) + Units) % Units;
        var ms = age * UnitMs;
        return ms > 3_600_000 ? -1 : ms;
    }
}
