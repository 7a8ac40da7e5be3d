using System.Net;
using NetemBench;
using NetemBench.Probe;
using NetemLink;

namespace Netem.Tests;

/// <summary>The bench's probe client against a real Xspice across an emulated link.</summary>
public sealed class ProbeTests
{
    [Fact]
    public async Task Probe_TypingIntoXterm_KeysReachTheShellAndEachEchoTakesAtLeastOneRtt()
    {
        Lab.RequireSpice();
        var ct = TestContext.Current.CancellationToken;
        var dir = Directory.CreateTempSubdirectory("netem-probe-").FullName;
        var typed = Path.Combine(dir, "typed.txt");
        var oneWay = new DirectionParameters { DelayMs = 15 };
        using var topology = Topology.Create(oneWay, oneWay);
        using var xspice = await XspiceServer.StartAsync(topology.DataCentreNs, dir, ct).WaitAsync(TimeSpan.FromSeconds(60), ct);
        xspice.PointerToTypingWindow();
        // The shell in the typing xterm copies what it reads into a file, so the test sees what the keys really did.
        Shell.Check("ip", "netns", "exec", topology.DataCentreNs, "env", $"DISPLAY=:{xspice.Display}", "xdotool", "type", "--delay", "5", $"cat > {typed}");
        Shell.Check("ip", "netns", "exec", topology.DataCentreNs, "env", $"DISPLAY=:{xspice.Display}", "xdotool", "key", "Return");
        await WaitForAsync(() => File.Exists(typed), TimeSpan.FromSeconds(10), "the shell did not start cat");

        await using (var probe = await SpiceProbe.ConnectAsync(topology.BranchNs, new IPEndPoint(topology.DataCentreAddress, XspiceServer.SpicePort), 16,
            TimeSpan.FromSeconds(30), ct).WaitAsync(TimeSpan.FromSeconds(40), ct))
        {
            Assert.InRange(probe.FirstScreenSeconds!.Value, 0.03, 30);
            var echo = await probe.MeasureKeyEchoAsync(7, xspice.TypingRegion, TimeSpan.FromSeconds(3), ct).WaitAsync(TimeSpan.FromSeconds(60), ct);

            Assert.Equal(0, echo.Timeouts);
            Assert.Equal(7, echo.LatenciesMs.Count);
            // A key goes up the link and its echo comes down: nothing can be faster than the 30 ms RTT.
            Assert.All(echo.LatenciesMs, ms => Assert.InRange(ms, 27, 2000));
        }

        // x, BackSpace, x, BackSpace, … seven keys leave one x on the line.
        Shell.Check("ip", "netns", "exec", topology.DataCentreNs, "env", $"DISPLAY=:{xspice.Display}", "xdotool", "key", "Return", "ctrl+d");
        await WaitForAsync(() => File.ReadAllText(typed) == "x\n", TimeSpan.FromSeconds(10), $"typed file is '{File.ReadAllText(typed)}'");
    }

    private static async Task WaitForAsync(Func<bool> condition, TimeSpan timeout, string failure)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (!condition())
        {
            if (DateTime.UtcNow > deadline)
            {
                Assert.Fail(failure);
            }

            await Task.Delay(50, TestContext.Current.CancellationToken);
        }
    }
}
