using Accel.Core.Spice.Display;
using Microsoft.Extensions.Time.Testing;

namespace Accel.Core.Tests.Spice.Display;

public sealed class DisplayBudgetTests
{
    private static readonly TimeSpan s_rtt = TimeSpan.FromMilliseconds(50);

    [Fact]
    public void Target_NoRttYet_IsTheFallback()
    {
        using var budget = new DisplayBudget(DisplayBudgetSettings.Default, new FakeTimeProvider());
        budget.Observe(0, null);
        Assert.Equal(DisplayBudgetSettings.Default.Fallback, budget.Target);
    }

    [Fact]
    public void Target_SaturatedLink_ConvergesToGainTimesBdpPlusHeadroom()
    {
        var time = new FakeTimeProvider();
        using var budget = new DisplayBudget(DisplayBudgetSettings.Default, time);
        var link = new SimulatedLink(budget, time, bytesPerSecond: 1_250_000); // 10 Mbit/s
        link.Run(TimeSpan.FromSeconds(5));

        var expected = (1.25 * 1_250_000 * s_rtt.TotalSeconds) + DisplayBudgetSettings.Default.Headroom; // 94 KB
        Assert.InRange(budget.DeliveryRate, 1_150_000, 1_300_000);
        Assert.InRange(budget.Target, expected * 0.9, expected * 1.1);
    }

    [Fact]
    public void Target_FastLink_GrowsFromTheFallbackAndIsNotCappedByItself()
    {
        var time = new FakeTimeProvider();
        using var budget = new DisplayBudget(DisplayBudgetSettings.Default, time);
        var link = new SimulatedLink(budget, time, bytesPerSecond: 12_500_000); // 100 Mbit/s: BDP 625 KB, above the 256 KB fallback
        link.Run(TimeSpan.FromSeconds(5));

        Assert.InRange(budget.DeliveryRate, 11_000_000, 13_000_000);
        Assert.True(budget.Target > 700_000, $"target {budget.Target}");
    }

    [Fact]
    public void Target_BandwidthDrops_FollowsWithinTheRateWindow()
    {
        var time = new FakeTimeProvider();
        using var budget = new DisplayBudget(DisplayBudgetSettings.Default, time);
        var link = new SimulatedLink(budget, time, bytesPerSecond: 12_500_000);
        link.Run(TimeSpan.FromSeconds(3));
        var before = budget.Target;
        link.BytesPerSecond = 2_500_000; // 100 → 20 Mbit/s
        link.Run(DisplayBudgetSettings.Default.RateWindow + TimeSpan.FromSeconds(1));

        Assert.InRange(budget.DeliveryRate, 2_300_000, 2_700_000);
        Assert.True(budget.Target < before / 2, $"{before} → {budget.Target}");
    }

    [Fact]
    public void DeliveryRate_BytesWaitingBeforeTheEngine_AreNotCountedAsDelivered()
    {
        // The edge writes in batches that reach the engine only when flushed (every 60 ms here): the rate is measured
        // from the stream's acknowledged bytes, so what waits before the engine is never taken as delivered.
        var time = new FakeTimeProvider();
        using var budget = new DisplayBudget(DisplayBudgetSettings.Default, time);
        var link = new SimulatedLink(budget, time, bytesPerSecond: 1_250_000) { FlushEvery = 12 };
        link.Run(TimeSpan.FromSeconds(5));

        Assert.InRange(budget.DeliveryRate, 1_100_000, 1_350_000);
    }

    [Fact]
    public void DeliveryRate_AboveThePathsBound_IsCappedAtIt()
    {
        var time = new FakeTimeProvider();
        using var budget = new DisplayBudget(DisplayBudgetSettings.Default, time);
        var link = new SimulatedLink(budget, time, bytesPerSecond: 12_500_000) { RateCeiling = 2_000_000 };
        link.Run(TimeSpan.FromSeconds(3));

        Assert.InRange(budget.DeliveryRate, 1_500_000, 2_000_000);
    }

    [Fact]
    public void LinkLimited_RemembersABusyIntervalAcrossIdleGaps()
    {
        var time = new FakeTimeProvider();
        using var budget = new DisplayBudget(DisplayBudgetSettings.Default, time);
        var link = new SimulatedLink(budget, time, bytesPerSecond: 1_250_000);
        Assert.False(budget.LinkLimited);
        link.Run(TimeSpan.FromSeconds(1));
        Assert.True(budget.LinkLimited);

        link.HasData = false; // a slideshow between photos: longer than the rate window, shorter than the memory
        link.Run(DisplayBudgetSettings.Default.RateWindow + TimeSpan.FromSeconds(2));
        Assert.True(budget.LinkLimited);
        link.Run(DisplayBudget.LinkMemory);
        Assert.False(budget.LinkLimited);
    }

    [Fact]
    public void Target_IdleScreen_KeepsTheMeasuredRate()
    {
        var time = new FakeTimeProvider();
        using var budget = new DisplayBudget(DisplayBudgetSettings.Default, time);
        var link = new SimulatedLink(budget, time, bytesPerSecond: 1_250_000);
        link.Run(TimeSpan.FromSeconds(3));
        var rate = budget.DeliveryRate;
        link.HasData = false; // 5 s with nothing to send: what is in flight drains, then nothing
        link.Run(TimeSpan.FromSeconds(5));

        Assert.InRange(budget.DeliveryRate, rate * 0.9, rate * 1.1);
    }

    [Fact]
    public void OnAckDue_UnderBudget_Sends()
    {
        using var budget = new DisplayBudget(DisplayBudgetSettings.Default, new FakeTimeProvider());
        budget.OnForwarded(1000);
        budget.Observe(1000, s_rtt);
        Assert.Equal(AckDecision.Send, budget.OnAckDue());
        Assert.Equal(0, budget.Held);
    }

    [Fact]
    public void OnAckDue_OverBudget_HoldsUntilTheClientEdgeAcknowledges()
    {
        var time = new FakeTimeProvider();
        using var budget = new DisplayBudget(DisplayBudgetSettings.Default, time);
        budget.OnForwarded(1_000_000);
        budget.Observe(1_000_000, s_rtt);

        Assert.Equal(AckDecision.Hold, budget.OnAckDue());
        Assert.Equal(AckDecision.Hold, budget.OnAckDue()); // a second due ACK waits behind the first
        time.Advance(TimeSpan.FromMilliseconds(10));
        budget.Observe(900_000, s_rtt);
        Assert.Equal(0, budget.TryRelease());

        time.Advance(TimeSpan.FromMilliseconds(10));
        budget.Observe(10_000, s_rtt);
        Assert.Equal(2, budget.TryRelease());
        Assert.Equal(0, budget.PendingAcks);
        Assert.Equal(2, budget.Held);
        Assert.Equal(0, budget.Forced);
    }

    [Fact]
    public void TryRelease_HeldForMaxAckHold_ReleasesOneSoSpiceServerKeepsDraining()
    {
        var time = new FakeTimeProvider();
        using var budget = new DisplayBudget(DisplayBudgetSettings.Default, time);
        budget.OnForwarded(10_000_000);
        budget.Observe(10_000_000, s_rtt);
        budget.OnAckDue();
        budget.OnAckDue();

        time.Advance(DisplayBudgetSettings.Default.MaxAckHold - TimeSpan.FromMilliseconds(1));
        budget.Observe(10_000_000, s_rtt);
        Assert.Equal(0, budget.TryRelease());
        time.Advance(TimeSpan.FromMilliseconds(1));
        Assert.Equal(1, budget.TryRelease());
        Assert.Equal(1, budget.PendingAcks);
        Assert.Equal(0, budget.TryRelease()); // the next one waits a full MaxAckHold again
        time.Advance(DisplayBudgetSettings.Default.MaxAckHold);
        Assert.Equal(1, budget.TryRelease());
        Assert.Equal(2, budget.Forced);
    }

    [Fact]
    public void OnAckDue_Disabled_AlwaysSends()
    {
        using var budget = new DisplayBudget(DisplayBudgetSettings.Default with { Enabled = false }, new FakeTimeProvider());
        budget.OnForwarded(50_000_000);
        budget.Observe(50_000_000, s_rtt);
        Assert.Equal(AckDecision.Send, budget.OnAckDue());
    }

    /// <summary>
    /// A bottleneck of a fixed rate and a fixed RTT fed by a sender that always has data and obeys the budget: bytes
    /// are acknowledged one RTT after the bottleneck has sent them.
    /// </summary>
    private sealed class SimulatedLink(DisplayBudget budget, FakeTimeProvider time, long bytesPerSecond)
    {
        private static readonly TimeSpan s_tick = TimeSpan.FromMilliseconds(5);
        private readonly Queue<(TimeSpan At, long Bytes)> _inFlight = new();
        private TimeSpan _now;
        private long _queued;
        private long _unacked;
        private long _piped;
        private long _acknowledged;
        private int _ticks;

        /// <summary>Forwarded bytes reach the engine only every this many ticks (0: at once).</summary>
        public int FlushEvery { get; init; }

        public long RateCeiling { get; init; }

        public long BytesPerSecond { get; set; } = bytesPerSecond;

        public bool HasData { get; set; } = true;

        public void Run(TimeSpan duration)
        {
            var end = _now + duration;
            while (_now < end)
            {
                // The sender fills up to the budget.
                var room = budget.Target - _unacked;
                if (room > 0 && HasData)
                {
                    budget.OnForwarded(room);
                    _piped += room;
                }

                if (FlushEvery == 0 || ++_ticks % FlushEvery == 0)
                {
                    _unacked += _piped;
                    _queued += _piped;
                    _piped = 0;
                }

                // The bottleneck sends a tick's worth; it is acknowledged one RTT later.
                var sent = Math.Min(_queued, (long)(BytesPerSecond * s_tick.TotalSeconds));
                _queued -= sent;
                _inFlight.Enqueue((_now + s_rtt, sent));
                while (_inFlight.TryPeek(out var head) && head.At <= _now)
                {
                    _unacked -= head.Bytes;
                    _acknowledged += head.Bytes;
                    _inFlight.Dequeue();
                }

                time.Advance(s_tick);
                _now += s_tick;
                budget.Observe(_unacked, new PathReading(s_rtt, RateCeiling, _acknowledged));
            }
        }
    }
}
