using Accel.Edge.Hosting;
using Microsoft.Extensions.Time.Testing;

namespace Accel.Edge.Tests.Hosting;

public sealed class TransportProgressTests
{
    private static readonly TimeSpan KeepAlive = TimeSpan.FromSeconds(10);
    private static readonly TimeSpan Tick = TimeSpan.FromSeconds(15);

    [Fact]
    public void Check_CountersAdvanceEveryKeepAlive_Healthy()
    {
        var time = new FakeTimeProvider();
        var progress = new TransportProgress(KeepAlive, Tick, time);
        var peer = new object();
        for (var bytes = 0L; bytes < 20; bytes++)
        {
            Assert.Null(progress.Check([("dc1", peer, bytes * 100)], time.GetTimestamp()));
            time.Advance(KeepAlive);
        }
    }

    [Fact]
    public void Check_CountersStandStillPastTheLimit_NamesThePeer()
    {
        var time = new FakeTimeProvider();
        var progress = new TransportProgress(KeepAlive, Tick, time);
        var (stuck, live) = (new object(), new object());
        var bytes = 0L;
        var start = time.GetTimestamp();
        while (time.GetElapsedTime(start) <= progress.StallLimit)
        {
            Assert.Null(progress.Check([("stuck", stuck, 500), ("live", live, bytes += 10)], time.GetTimestamp()));
            time.Advance(Tick);
        }

        var reason = progress.Check([("stuck", stuck, 500), ("live", live, bytes + 10)], time.GetTimestamp());
        Assert.Contains("peer stuck made no progress", reason, StringComparison.Ordinal);

        // The stuck connection closes (gone from the list): healthy again.
        Assert.Null(progress.Check([("live", live, bytes + 20)], time.GetTimestamp()));
    }

    [Fact]
    public void Check_CountersStillDuringAnOutage_HealthyUntilTheIdleTimeoutHasPassed()
    {
        var time = new FakeTimeProvider();
        var progress = new TransportProgress(TimeSpan.FromSeconds(1), Tick, time, idleTimeout: TimeSpan.FromSeconds(30));
        var peer = new object();
        var start = time.GetTimestamp();
        Assert.Null(progress.Check([("dc1", peer, 100)], start));
        time.Advance(TimeSpan.FromSeconds(40));
        Assert.Null(progress.Check([("dc1", peer, 100)], time.GetTimestamp()));
        time.Advance(TimeSpan.FromSeconds(10));
        Assert.NotNull(progress.Check([("dc1", peer, 100)], time.GetTimestamp()));
    }

    [Fact]
    public void Check_KeepAliveOff_NeverJudges()
    {
        var time = new FakeTimeProvider();
        var progress = new TransportProgress(TimeSpan.Zero, Tick, time);
        var peer = new object();
        for (var i = 0; i < 10; i++)
        {
            Assert.Null(progress.Check([("dc1", peer, 7)], time.GetTimestamp()));
            time.Advance(TimeSpan.FromMinutes(5));
        }
    }
}
