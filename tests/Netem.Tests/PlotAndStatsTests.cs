using NetemBench;

namespace Netem.Tests;

public sealed class PlotAndStatsTests
{
    [Fact]
    public void Plots_TwoSeries_WritesAPng()
    {
        var path = Path.Combine(Directory.CreateTempSubdirectory("netem-plot-").FullName, "cdf.png");
        var error = Plots.WriteLatencyCdf(path, "test: key-to-echo", "ms", [
            ("plain typing", [52.1, 53.0, 55.2, 120.0, 51.0]),
            ("spiceaccel typing", [54.0, 55.5, 56.1, 57.0]),
        ]);

        Assert.Null(error);
        var bytes = File.ReadAllBytes(path);
        Assert.True(bytes.Length > 5_000, $"PNG of {bytes.Length} bytes");
        Assert.Equal(new byte[] { 0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A }, bytes[..8]);
    }

    [Fact]
    public void Report_KernelNetem_SaysWhatTcCanDoAndLeavesNoNamespace()
    {
        Lab.RequireNamespaces();
        var answer = Report.KernelNetem();

        Assert.Matches("^(available \\(not used\\)|unavailable \\(.+\\))$", answer);
        Assert.DoesNotContain(NetemLink.Shell.Run("ip", "netns", "list").Output.Split('\n'), l => l.StartsWith("sa-tcprobe-", StringComparison.Ordinal));
    }

    [Fact]
    public void Stats_NearestRank_Percentiles()
    {
        var s = Stats.Of(Enumerable.Range(1, 100).Select(i => (double)i).ToList());
        Assert.Equal((100, 50.0, 95.0, 99.0, 100.0), (s.Count, s.P50, s.P95, s.P99, s.Max));
        Assert.Equal(0, Stats.Of([]).Count);
    }
}
