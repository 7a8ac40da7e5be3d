using Accel.Core.Spice.Display;
using Microsoft.Extensions.Time.Testing;

namespace Accel.Core.Tests.Spice.Display;

public sealed class CanvasEncodeToFitTests
{
    /// <summary>3 MB/s: 50 ms of it hold 150 KB, 75 000 pixels losslessly; one 1024 × 63 strip (64 512 pixels) fits.</summary>
    private const long Rate = 3_000_000;

    private const long Strip = 1024 * 63;

    [Fact]
    public void PhotoStrips_OneFitsAlone_TheSecondOfTheBurstGoesLossy()
    {
        var time = new FakeTimeProvider();
        var fit = new CanvasEncodeToFit(time);
        Assert.False(fit.TooLongLossless(Strip, photo: true, Rate));
        time.Advance(TimeSpan.FromMilliseconds(5));
        Assert.True(fit.TooLongLossless(Strip, photo: true, Rate));
    }

    [Fact]
    public void PhotoStrips_FarApart_AreEachJudgedAlone()
    {
        var time = new FakeTimeProvider();
        var fit = new CanvasEncodeToFit(time);
        for (int i = 0; i < 5; i++)
        {
            Assert.False(fit.TooLongLossless(Strip, photo: true, Rate));
            time.Advance(TimeSpan.FromSeconds(1));
        }
    }

    [Fact]
    public void TextDraws_NeverAddUpToABurst()
    {
        var time = new FakeTimeProvider();
        var fit = new CanvasEncodeToFit(time);
        for (int i = 0; i < 20; i++)
        {
            Assert.False(fit.TooLongLossless(Strip, photo: false, Rate));
            time.Advance(TimeSpan.FromMilliseconds(1));
        }
    }

    [Fact]
    public void UnknownRate_KeepsEverythingLossless()
    {
        var fit = new CanvasEncodeToFit(new FakeTimeProvider());
        Assert.False(fit.TooLongLossless(1024 * 768, photo: true, rate: 0));
        Assert.Equal(0, CanvasEncodeToFit.Quality(1024 * 768, rate: 0, continuing: true));
    }

    [Fact]
    public void Quality_OnAllPendingDamage_AndAnUpdateThatStartedLossyEndsLossy()
    {
        var time = new FakeTimeProvider();
        var fit = new CanvasEncodeToFit(time);
        long now = time.GetTimestamp();
        Assert.Equal(0, CanvasEncodeToFit.Quality(16384, Rate, fit.Continuing(now))); // a small update alone: lossless
        int q = CanvasEncodeToFit.Quality(13 * Strip, Rate, fit.Continuing(now)); // a whole photo pending: JPEG
        Assert.True(q > 0);
        fit.OnChosen(q, now);
        time.Advance(TimeSpan.FromMilliseconds(20));
        Assert.Equal(q, CanvasEncodeToFit.Quality(16384, Rate, fit.Continuing(time.GetTimestamp()))); // its last band too
        time.Advance(CanvasEncodeToFit.BurstMemory);
        Assert.Equal(0, CanvasEncodeToFit.Quality(16384, Rate, fit.Continuing(time.GetTimestamp())));
    }

    [Fact]
    public void Drawing_OnlyPhotosHoldTheLosslessRefreshBack()
    {
        var time = new FakeTimeProvider();
        var fit = new CanvasEncodeToFit(time);
        fit.OnDraw(photo: false, time.GetTimestamp());
        Assert.False(fit.Drawing(time.GetTimestamp()));
        fit.OnDraw(photo: true, time.GetTimestamp());
        Assert.True(fit.Drawing(time.GetTimestamp()));
        Assert.Equal(long.MaxValue, fit.RefineDelay(time.GetTimestamp()));
        time.Advance(CanvasEncodeToFit.RefineQuiet);
        Assert.False(fit.Drawing(time.GetTimestamp()));
        Assert.Equal((long)(CanvasEncodeToFit.RefineAfter.TotalSeconds * time.TimestampFrequency), fit.RefineDelay(time.GetTimestamp()));
    }
}
