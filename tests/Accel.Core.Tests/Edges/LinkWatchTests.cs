using Accel.Core.Edges;
using Accel.Core.Transport;
using Microsoft.Extensions.Time.Testing;

namespace Accel.Core.Tests.Edges;

public sealed class LinkWatchTests
{
    private static readonly TimeSpan s_rtt = TimeSpan.FromMilliseconds(100);

    [Fact]
    public void IdleConnection_NothingInFlight_IsNeverDown()
    {
        var (watch, stats, time) = Create();
        stats.Set(packets: 10, inFlight: 0);
        for (var i = 0; i < 100; i++)
        {
            time.Advance(TimeSpan.FromMilliseconds(100));
            watch.Sample();
        }

        Assert.False(watch.IsDown);
        Assert.False(watch.DownToken.IsCancellationRequested);
    }

    [Fact]
    public void InFlightWithoutAnswer_IsDownAfterTwoRttPlusOneSecond_AndUpAtTheNextPacket()
    {
        var (watch, stats, time) = Create();
        stats.Set(packets: 10, inFlight: 0);
        watch.Sample();
        time.Advance(TimeSpan.FromSeconds(5)); // a long idle gap before the PING is no outage
        stats.Set(packets: 10, inFlight: 60);
        watch.Sample();
        var token = watch.DownToken;

        time.Advance(TimeSpan.FromMilliseconds(1150));
        watch.Sample();
        Assert.False(watch.IsDown);

        time.Advance(TimeSpan.FromMilliseconds(100));
        watch.Sample();
        Assert.True(watch.IsDown);
        Assert.True(token.IsCancellationRequested);
        Assert.True(watch.Silence >= TimeSpan.FromSeconds(6));

        stats.Set(packets: 11, inFlight: 60);
        watch.Sample();
        Assert.False(watch.IsDown);
        Assert.False(watch.DownToken.IsCancellationRequested);
    }

    private static (LinkWatch Watch, FakeStatistics Stats, FakeTimeProvider Time) Create()
    {
        var time = new FakeTimeProvider();
        var stats = new FakeStatistics();
        return (new LinkWatch(stats, time), stats, time);
    }

    private sealed class FakeStatistics : IConnectionStatistics
    {
        private ConnectionStatistics _current;

        public void Set(long packets, long inFlight) =>
            _current = new ConnectionStatistics { PacketsReceived = packets, BytesInFlight = inFlight, SmoothedRtt = s_rtt };

        public ConnectionStatistics GetStatistics() => _current;
    }
}
