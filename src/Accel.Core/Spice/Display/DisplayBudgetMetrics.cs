using System.Collections.Concurrent;
using System.Diagnostics;
using System.Diagnostics.Metrics;
using Accel.Core.Diagnostics;

namespace Accel.Core.Spice.Display;

/// <summary>The display budget's instruments (on the <see cref="AccelMetrics.MeterName"/> meter).</summary>
internal static class DisplayBudgetMetrics
{
    private static readonly ConcurrentDictionary<DisplayBudget, byte> s_budgets = new();

    internal static readonly TagList HeldTag = AccelMetrics.Tags("kind", "held");
    internal static readonly TagList ForcedTag = AccelMetrics.Tags("kind", "forced");

    /// <summary>ACKs to spice-server held back by the budget (held), and sent because they had waited MaxAckHold (forced).</summary>
    public static readonly Counter<long> AckHolds = AccelMetrics.Meter.CreateCounter<long>(
        "spiceaccel.display.ack_holds", "{ack}", "Display ACKs to spice-server held back by the display budget (held), and sent after the longest hold (forced)");

    /// <summary>Time from a display message's arrival from spice-server to the client edge's acknowledgement of its last byte.</summary>
    public static readonly Histogram<double> QueueDelay = AccelMetrics.Meter.CreateHistogram<double>(
        "spiceaccel.display.queue_delay", "s", "Time from a display message's arrival at the server edge to the client edge acknowledging it (sampled)");

    static DisplayBudgetMetrics()
    {
        AccelMetrics.Meter.CreateObservableGauge("spiceaccel.display.budget", () => Sum(static b => b.Target), "By", "Display budget: bytes of display data allowed between the edges, summed over display channels");
        AccelMetrics.Meter.CreateObservableGauge("spiceaccel.display.outstanding", () => Sum(static b => b.Outstanding), "By", "Display bytes written toward the client edge and not yet acknowledged, summed over display channels");
    }

    public static void Register(DisplayBudget budget) => s_budgets[budget] = 0;

    public static void Unregister(DisplayBudget budget) => s_budgets.TryRemove(budget, out _);

    private static long Sum(Func<DisplayBudget, long> pick)
    {
        long total = 0;
        foreach (var (budget, _) in s_budgets)
        {
            total += pick(budget);
        }

        return total;
    }
}
