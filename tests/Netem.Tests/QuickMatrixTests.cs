using NetemBench;

namespace Netem.Tests;

public sealed class QuickMatrixTests
{
    [Fact]
    public async Task QuickMatrix_PlainKcptunAndSpiceAccelOnBranch_EveryContenderAndWorkloadCompletesWithSaneFigures()
    {
        Lab.RequireSpice();
        var ct = TestContext.Current.CancellationToken;
        var dir = Directory.CreateTempSubdirectory("netem-quick-").FullName;
        var options = new RunOptions
        {
            Profiles = ["branch"],
            Contenders = [new PlainContender(), CommandContender.Kcptun(), CommandContender.SpiceAccelBuilt()],
            Workloads = ["connect", "typing", "animation"],
            Probe = NetemBench.Probe.ProbeSettings.Quick,
            Repeat = 1,
            ProfileDir = Lab.ProfileDir(),
            ReportDir = dir,
            ProbeCount = 100,
            MeasureRate = false,
            WorkloadTimeout = TimeSpan.FromSeconds(45),
        };

        // The namespaces this run made (other runs and tests may create and remove their own meanwhile).
        var created = new List<string>();
        var results = await new Runner(options, line =>
        {
            var at = line.IndexOf(NetemLink.Topology.DataCentrePrefix, StringComparison.Ordinal);
            if (line.Contains("starting Xspice in ", StringComparison.Ordinal) && at >= 0)
            {
                lock (created)
                {
                    created.Add(line[(at + NetemLink.Topology.DataCentrePrefix.Length)..].Trim());
                }
            }
        }).RunAsync(ct).WaitAsync(TimeSpan.FromMinutes(5), ct);
        Report.Write(dir, "test", results);

        var rows = Assert.Single(results).Rows;
        var rtt = results[0].Profile.RttMs;
        foreach (var name in new[] { "plain", "kcptun", "spiceaccel" })
        {
            var connect = Assert.Single(rows, r => r.Contender == name && r.Workload == "connect");
            Assert.Equal("ok", connect.Status);
            Assert.InRange(connect.MedianSeconds!.Value, 0.05, 45);
            // The 1024×768 desktop (an xterm and a clock) compresses to 12–20 KB; plain and kcptun also carry spice-server's
            // 250 KB network-test ping, which the server edge answers itself.
            Assert.True(connect.WanBytesDown > 8_000, $"{name}: a first screen needs more than 8 KB downstream, got {connect.WanBytesDown}");

            // The connect timeline, read from spice-gtk's own debug lines: every phase found, in order.
            var phases = ConnectTimeline.Phases.Select(p => p.Key).Append(ConnectTimeline.ScreenKey).Select(k => connect.Figures.GetValueOrDefault(k, double.NaN)).ToArray();
            Assert.All(phases, ms => Assert.InRange(ms, 0, 45_000));
            Assert.Equal(phases.Order(), phases);
            Assert.True(connect.WanBytesUp > 0);

            // Sanity, not speed: an echo cannot beat the round trip, a pointer cannot beat the 125 events/s sent.
            var typing = Assert.Single(rows, r => r.Contender == name && r.Workload == "typing");
            Assert.True(typing.Status == "ok", $"{name} typing: {typing.Status} {string.Join("; ", typing.Errors)}");
            var echo = typing.Distributions["keyEchoMs"];
            Assert.True(echo.Count >= 10, $"{name}: {echo.Count} echoes");
            Assert.InRange(echo.P50, rtt * 0.9, 3000);
            Assert.InRange(typing.Figures["pointerUpdatesPerSecond"], 1, 130);
            Assert.InRange(typing.Figures["firstScreenSeconds"], 0.02, 45);

            var animation = Assert.Single(rows, r => r.Contender == name && r.Workload == "animation");
            Assert.True(animation.Status == "ok", $"{name} animation: {animation.Status} {string.Join("; ", animation.Errors)}");
            Assert.InRange(animation.Distributions["markerLatencyMs"].P50, (rtt / 2) - 4, 30_000);
            Assert.InRange(animation.Figures["markersPerSecond"], 0.5, 40);
            Assert.True(animation.Distributions["freshnessMs"].Count > 10);
        }

        Assert.NotEmpty(results[0].Plots);
        Assert.All(results[0].Plots, plot => Assert.True(File.Exists(Path.Combine(dir, plot.File)), plot.File));
        Assert.True(File.Exists(Path.Combine(dir, "report.json")));
        Assert.NotNull(results[0].Link);
        var id = Assert.Single(created);
        var left = NetemLink.Topology.ListOwnNamespaces();
        Assert.DoesNotContain(NetemLink.Topology.BranchPrefix + id, left);
        Assert.DoesNotContain(NetemLink.Topology.DataCentrePrefix + id, left);
    }
}
