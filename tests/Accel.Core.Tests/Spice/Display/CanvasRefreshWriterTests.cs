using Accel.Core.Spice.Display;

namespace Accel.Core.Tests.Spice.Display;

public sealed class CanvasRefreshWriterTests
{
    [Theory]
    [InlineData(10_000_000, 85)]
    [InlineData(2_500_000, 85)]
    [InlineData(1_250_000, 75)]
    [InlineData(700_000, 60)]
    [InlineData(300_000, 45)]
    [InlineData(100_000, 30)]
    [InlineData(0, 30)]
    public void Quality_FollowsTheDeliveryRate(long bytesPerSecond, int quality) =>
        Assert.Equal(quality, CanvasRefreshWriter.QualityFor(bytesPerSecond));
}
