using NetemBench;

namespace Netem.Tests;

/// <summary>The connect timeline read from spice-gtk's SPICE_DEBUG output (lines as spicy-screenshot prints them).</summary>
public sealed class ConnectTimelineTests
{
    private static readonly string[] s_log =
    [
        "(spicy-screenshot:26312): GSpice-DEBUG: 23:59:59.950: ../src/spice-session.c:288 New session (compiled from package spice-gtk 0.42)",
        "(spicy-screenshot:26312): GSpice-DEBUG: 00:00:00.022: ../src/spice-session.c:2104 main-1:0: connect ready",
        "(spicy-screenshot:26312): GSpice-DEBUG: 00:00:00.022: ../src/spice-channel.c:1415 main-1:0: channel type 1 id 0 num common caps 1 num caps 1",
        "(spicy-screenshot:26312): GSpice-DEBUG: 00:00:00.180: ../src/spice-channel.c:1441 main-1:0: Peer version: 2:2",
        "(spicy-screenshot:26312): GSpice-DEBUG: 00:00:00.290: ../src/spice-channel.c:1350 main-1:0: channel up, state 3",
        "(spicy-screenshot:26312): GSpice-DEBUG: 00:00:00.513: ../src/spice-session.c:2104 display-2:0: connect ready",
        "(spicy-screenshot:26312): GSpice-DEBUG: 00:00:00.729: ../src/spice-channel.c:1350 display-2:0: channel up, state 3",
        "(spicy-screenshot:26312): GSpice-DEBUG: 00:00:00.855: ../src/channel-display.c:1007 display-2:0: Create primary canvas",
        "wrote screen shot to /tmp/x.ppm",
        "(spicy-screenshot:26312): GSpice-DEBUG: 00:00:00.900: ../src/spice-channel.c:1350 display-2:0: channel up, state 3",
    ];

    [Fact]
    public void Read_SpiceGtkDebugLines_GivesEachPhaseOnceInMsFromTheStart_AcrossMidnight()
    {
        var values = new Dictionary<string, double>();

        ConnectTimeline.Read(s_log, new TimeSpan(0, 23, 59, 59, 950), values);

        Assert.Equal(72, values["tcpMs"]);
        Assert.Equal(230, values["linkReplyMs"]);
        Assert.Equal(340, values["linkMs"]);
        Assert.Equal(779, values["displayLinkMs"]);
        Assert.Equal(905, values["firstDrawMs"]);
    }

    [Fact]
    public void Markdown_ConnectRowWithTimeline_ShowsMsAndRoundTrips_AndDashesForMissingPhases()
    {
        var profile = new Profile { Name = "branch", Description = "test", RttMs = 50, LossPercent = 1, RateMbit = 10 };
        var row = new ResultRow("branch", "plain", "connect", "ok", 1, 1, 1.0, 1.0, 1.0, 1.0, 7000, 270000, [], [])
        {
            Figures = new() { ["tcpMs"] = 75, ["linkMs"] = 220, [ConnectTimeline.ScreenKey] = 1000 },
        };

        var md = Report.Markdown("test", [new ProfileResult(profile, null, [row])], new Dictionary<string, string>());

        Assert.Contains("| contender | main TCP | main link reply | main up | display up | first draw | first complete screen |", md, StringComparison.Ordinal);
        Assert.Contains("| plain | 75 (1.5 RTT) | — | 220 (4.4 RTT) | — | — | 1000 (20.0 RTT) |", md, StringComparison.Ordinal);
    }
}
