using NetemBench;

namespace Netem.Tests;

public sealed class ProgressClockTests
{
    [Fact]
    public void Remaining_BeforeAnySample_IsUnknown()
    {
        var clock = new ProgressClock(new Dictionary<string, int> { ["typing"] = 4 });

        Assert.Null(clock.Remaining(TimeSpan.FromSeconds(30)));
        Assert.Equal(0, clock.Done);
        Assert.Equal(4, clock.Total);
    }

    [Fact]
    public void Remaining_PerWorkloadMeansPlusSetUpShare_EstimatesTheRest()
    {
        var clock = new ProgressClock(new Dictionary<string, int> { ["connect"] = 3, ["flood"] = 3, ["slideshow"] = 2 });
        clock.Sampled("connect", 2);
        clock.Sampled("connect", 4);
        clock.Sampled("flood", 30);

        // 36 s of samples in 48 s: 4 s of set-up per sample so far. Left: 1 connect at 3 s, 2 floods at 30 s,
        // 2 slideshows at the overall mean of 12 s, each plus 4 s.
        Assert.Equal(TimeSpan.FromSeconds((3 + 4) + (2 * (30 + 4)) + (2 * (12 + 4))), clock.Remaining(TimeSpan.FromSeconds(48)));
        Assert.Equal(3, clock.Done);
    }

    [Fact]
    public void Skipped_SamplesThatWillNotRun_LeaveTheEstimate()
    {
        var clock = new ProgressClock(new Dictionary<string, int> { ["typing"] = 4 });
        clock.Sampled("typing", 10);
        clock.Skipped("typing", 2);

        Assert.Equal(3, clock.Done);
        Assert.Equal(TimeSpan.FromSeconds(10), clock.Remaining(TimeSpan.FromSeconds(10)));
    }

    [Theory]
    [InlineData(59, "0:00:59")]
    [InlineData(3599, "0:59:59")]
    [InlineData(3 * 3600 + 61, "3:01:01")]
    public void Format_PastAnHour_DoesNotWrap(int seconds, string expected)
        => Assert.Equal(expected, ProgressClock.Format(TimeSpan.FromSeconds(seconds)));
}
