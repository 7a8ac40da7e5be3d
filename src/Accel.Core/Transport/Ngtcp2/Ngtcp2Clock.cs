using System.Diagnostics;

namespace Accel.Core.Transport.Ngtcp2;

/// <summary>Monotonic nanoseconds for ngtcp2 timestamps, without the ulong overflow of <c>ticks * 1e9</c>.</summary>
internal static class Ngtcp2Clock
{
    private static readonly bool s_nanosecondTicks = Stopwatch.Frequency == 1_000_000_000;

    public static ulong Now()
    {
        var ticks = Stopwatch.GetTimestamp();
        return s_nanosecondTicks ? (ulong)ticks : (ulong)((Int128)ticks * 1_000_000_000 / Stopwatch.Frequency);
    }

    public static ulong ToNanoseconds(TimeSpan span) => span <= TimeSpan.Zero ? 0 : (ulong)span.Ticks * 100;
}
