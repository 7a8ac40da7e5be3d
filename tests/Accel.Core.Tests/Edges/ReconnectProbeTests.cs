using Accel.Core.Edges;

namespace Accel.Core.Tests.Edges;

public sealed class ReconnectProbeTests
{
    [Theory]
    [InlineData(50, 10_000, 300)] // 2 × 50 + 200 = 300
    [InlineData(10, 10_000, 300)] // at least 300 ms, however short the RTT
    [InlineData(250, 10_000, 700)] // intercontinental: room for two round trips
    [InlineData(2000, 3000, 3000)] // never longer than the configured handshake timeout
    public void AttemptTimeout_FromTheLastRtt_TwoRoundTripsAndSlack_Bounded(int rttMs, int handshakeMs, int expectedMs)
        => Assert.Equal(TimeSpan.FromMilliseconds(expectedMs),
            ReconnectProbe.AttemptTimeout(TimeSpan.FromMilliseconds(rttMs), TimeSpan.FromMilliseconds(handshakeMs)));

    [Fact]
    public void AttemptTimeout_WithoutAnRtt_IsOneSecond()
        => Assert.Equal(ReconnectProbe.UnknownRttAttempt, ReconnectProbe.AttemptTimeout(null, TimeSpan.FromSeconds(10)));

    [Theory]
    [InlineData(1, 100)]
    [InlineData(50, 100)]
    [InlineData(180, 180)]
    [InlineData(600, 300)]
    public void AttemptSpacing_OneRtt_Between100And300Ms(int rttMs, int expectedMs)
        => Assert.Equal(TimeSpan.FromMilliseconds(expectedMs), ReconnectProbe.AttemptSpacing(TimeSpan.FromMilliseconds(rttMs)));
}
