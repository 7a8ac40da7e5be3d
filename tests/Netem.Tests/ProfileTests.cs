using NetemBench;

namespace Netem.Tests;

public sealed class ProfileTests
{
    [Theory]
    [InlineData("lan", 0.5, 0, 1000)]
    [InlineData("branch", 50, 1, 10)]
    [InlineData("lossy-wan", 100, 2, 10)]
    [InlineData("intercontinental", 250, 1, 3)]
    [InlineData("thin-branch", 100, 0.5, 1)]
    [InlineData("mobile", 200, 5, 2)]
    public void Profile_ShippedFile_MatchesSpecification(string name, double rtt, double loss, double rate)
    {
        var dir = Path.Combine(AppContext.BaseDirectory, "profiles");
        var profile = Profile.Load(dir, name);

        Assert.Equal(rtt, profile.RttMs);
        Assert.Equal(loss, profile.EffectiveLossPercent, 1);
        Assert.Equal(rate, profile.RateMbit);
        Assert.Equal(rtt / 2, profile.Direction(up: true).DelayMs);
    }

    [Fact]
    public void Ppm_UniformImage_IsBlank()
    {
        var path = Path.GetTempFileName();
        try
        {
            File.WriteAllBytes(path, [.. "P6\n2 1\n255\n"u8.ToArray(), 10, 20, 30, 10, 20, 30]);
            Assert.True(Ppm.IsBlank(path));
            File.WriteAllBytes(path, [.. "P6\n2 1\n255\n"u8.ToArray(), 10, 20, 30, 10, 20, 31]);
            Assert.False(Ppm.IsBlank(path));
        }
        finally
        {
            File.Delete(path);
        }
    }
}
