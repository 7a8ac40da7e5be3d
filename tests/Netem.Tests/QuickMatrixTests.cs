using NetemBench;

namespace Netem.Tests;

public sealed class QuickMatrixTests
{
    [Fact]
    public async Task QuickMatrix_PlainKcptunAndSpiceAccelOnBranch_EveryContenderCompletesWithSaneFigures()
    {
        Lab.RequireSpice();
        var ct = TestContext.Current.CancellationToken;
        var dir = Directory.CreateTempSubdirectory("netem-quick-").FullName;
        var options = new RunOptions
        {
            Profiles = ["branch"],
            Contenders = [new PlainContender(), CommandContender.Kcptun(), CommandContender.SpiceAccelBuilt()],
            Workloads = ["connect"],
            Repeat = 1,
            ProfileDir = FindProfiles(),
            ReportDir = dir,
            ProbeCount = 100,
            MeasureRate = false,
            WorkloadTimeout = TimeSpan.FromSeconds(45),
        };

        var before = NetemLink.Topology.ListOwnNamespaces();
        var results = await new Runner(options, _ => { }).RunAsync(ct).WaitAsync(TimeSpan.FromMinutes(4), ct);
        Report.Write(dir, "test", results);

        var rows = Assert.Single(results).Rows;
        foreach (var name in new[] { "plain", "kcptun", "spiceaccel" })
        {
            var row = Assert.Single(rows, r => r.Contender == name);
            Assert.Equal("ok", row.Status);
            Assert.InRange(row.MedianSeconds!.Value, 0.05, 45);
            Assert.True(row.WanBytesDown > 20_000, $"{name}: a first screen needs more than 20 KB downstream, got {row.WanBytesDown}");
            Assert.True(row.WanBytesUp > 0);
        }

        Assert.True(File.Exists(Path.Combine(dir, "report.json")));
        Assert.NotNull(results[0].Link);
        Assert.Equal(before.Order(), NetemLink.Topology.ListOwnNamespaces().Order());
    }

    private static string FindProfiles()
    {
        for (var d = new DirectoryInfo(AppContext.BaseDirectory); d is not null; d = d.Parent)
        {
            var p = Path.Combine(d.FullName, "bench", "netem", "profiles");
            if (Directory.Exists(p))
            {
                return p;
            }
        }

        throw new DirectoryNotFoundException("bench/netem/profiles");
    }
}
