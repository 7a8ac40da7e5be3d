using System.Collections.Concurrent;
using System.Globalization;
using System.Text.RegularExpressions;
using Accel.Edge.Tests.Lab;

namespace Accel.Edge.Tests.EndToEnd;

/// <summary>
/// Inputs under loss, end to end: remote-viewer (spice-gtk) full-screen on an Xvfb in the branch, driven by xdotool,
/// through both edges to Xspice, with 20 % of the edge connection's packets dropped each way by nftables in the
/// namespaces; <c>xev</c> on the Xspice display reports what spice-server delivered.
/// </summary>
[Collection(SpiceLabCollection.Name)]
public sealed partial class InputLossTests(SpiceLabFixture lab)
{
    private const int Clicks = 12;

    [Fact]
    public async Task RemoteViewer_TwentyPercentLossEachWay_EachClickLandsWhereThePointerWas_KeysArriveOnceInOrder()
    {
        var ct = TestContext.Current.CancellationToken;
        var datagrams = SpiceLabFixture.PairHasDatagrams();
        var events = new ConcurrentQueue<string>();
        var targets = new List<(int X, int Y)>();
        const string keys = "abcdefghijkl";
        // xev's window must not outlive the test: the other tests type into the xterm under it.
        using var xev = lab.Lab.Start(lab.Lab.Backend, "stdbuf", ["-oL", "xev", "-display", lab.Xspice.DisplayName, "-geometry", "700x500+150+150", "-name", "inputloss", "-event", "button", "-event", "keyboard"],
            log: events.Enqueue);
        try
        {
            await lab.Xspice.RunAsync("xdotool", ["search", "--sync", "--onlyvisible", "--name", "inputloss"], TimeSpan.FromSeconds(30), ct);

            var (_, display) = await lab.Lab.StartXvfbAsync(lab.Lab.Branch, "1024x768x24", ct);
            var env = new Dictionary<string, string> { ["DISPLAY"] = display };
            lab.Lab.Start(lab.Lab.Branch, "remote-viewer", ["--full-screen", $"spice://127.0.0.1:{SpiceLabFixture.ExplicitPort}"], env);
            await InBranchAsync(env, TimeSpan.FromSeconds(30), "xdotool", "search", "--sync", "--onlyvisible", "--class", "remote-viewer");

            // The session is up once moves in the branch move the Xspice pointer; remote-viewer's window places the
            // guest screen at an offset (no window manager: its own bars stay), found by moving to two points. The
            // click (outside xev's window) gives remote-viewer the keyboard.
            var offset = await CalibrateAsync(env, ct);

            var script = new List<string>();
            for (var i = 0; i < Clicks; i++)
            {
                var target = (X: 200 + (i * 47 % 600), Y: 200 + (i * 83 % 400));
                targets.Add(target);
                // A short path to the target (positions on the way go as datagrams, some lost), then a click and a key.
                foreach (var (dx, dy) in new[] { (-30, -20), (-15, -10), (-5, -3) })
                {
                    script.AddRange(["mousemove", Num(target.X + dx - offset.X), Num(target.Y + dy - offset.Y)]);
                }

                script.AddRange(["mousemove", Num(target.X - offset.X), Num(target.Y - offset.Y), "click", "1", "key", keys[i].ToString()]);
            }

            await using (var loss = await PacketLoss.AddAsync(lab.Lab, percent: 20, port: SpiceLabFixture.EdgePort))
            {
                // Under loss, typing into the lab's xterm (outside xev's window) until the client edge's loss meter,
                // sampled once a second from the engine's counts, has turned input copies on (its own counter says so):
                // how long that takes depends on which packets the loss hits, so the test waits for it, bounded.
                // Without datagrams (msquic at either edge) there are no copies to wait for: the inputs go on the stream.
                if (datagrams)
                {
                    await Poll.UntilAsync(
                        async () =>
                        {
                            await InBranchAsync(env, TimeSpan.FromSeconds(30), "xdotool", "mousemove", Num(120 - offset.X), Num(700 - offset.Y),
                                "type", "--delay", "100", "warm ");
                            return Regex.IsMatch(await ClientEdgeMetricsAsync(), @"spiceaccel_input_redundancy_bytes_total(\{[^}]*\})? [1-9]");
                        },
                        TimeSpan.FromSeconds(60),
                        "the client edge never turned input copies on while typing under 20 % loss");
                }

                await InBranchAsync(env, TimeSpan.FromSeconds(60), ["xdotool", .. script]);
                await Poll.UntilAsync(
                    () => Task.FromResult(Parse(events).Keys.Count >= Clicks && Parse(events).Releases >= Clicks),
                    TimeSpan.FromSeconds(60),
                    $"xev did not see {Clicks} clicks and keys: {string.Join(" | ", events)}");
                Assert.True(await loss.DroppedAsync() > 0, "nftables dropped no packet of the edge connection");
            }
        }
        finally
        {
            xev.Kill(entireProcessTree: true);
        }

        var seen = Parse(events);
        Assert.Equal(targets, seen.Presses);
        Assert.Equal(Clicks, seen.Releases);
        Assert.Equal(keys, string.Concat(seen.Keys));

        // The pointer really went as datagrams (the client edge's own count), not only on the stream; the loss was
        // measured (Client:InputRedundancy=auto) and inputs went with copies. Without datagrams the edges fell back:
        // every click above landed where the pointer was and every key arrived once, all on the inputs stream, with
        // no pointer datagram and no copy sent.
        var metrics = await ClientEdgeMetricsAsync();
        TestContext.Current.TestOutputHelper?.WriteLine($"datagrams on this engine pair: {datagrams}");
        if (datagrams)
        {
            Assert.Matches(@"spiceaccel_input_pointer_datagrams_total(\{[^}]*\})? [1-9]", metrics);
            Assert.Matches(@"spiceaccel_input_redundancy_bytes_total(\{[^}]*\})? [1-9]", metrics);
        }
        else
        {
            Assert.DoesNotMatch(@"spiceaccel_input_pointer_datagrams_total(\{[^}]*\})? [1-9]", metrics);
            Assert.DoesNotMatch(@"spiceaccel_input_redundancy_bytes_total(\{[^}]*\})? [1-9]", metrics);
        }
    }

    private static string Num(int n) => n.ToString(CultureInfo.InvariantCulture);

    private Task<string> ClientEdgeMetricsAsync() =>
        Shell.InNsAsync(lab.Lab.Branch, "curl", "-sf", $"http://127.0.0.1:{Num(SpiceLabFixture.MetricsPort)}/metrics");

    /// <summary>xev's ButtonPress root positions, ButtonRelease count and KeyPress keysyms, in order.</summary>
    private static (List<(int X, int Y)> Presses, int Releases, List<string> Keys) Parse(IEnumerable<string> lines)
    {
        var presses = new List<(int, int)>();
        var keys = new List<string>();
        var releases = 0;
        string? current = null;
        foreach (var line in lines)
        {
            if (line.StartsWith("ButtonPress event", StringComparison.Ordinal) || line.StartsWith("KeyPress event", StringComparison.Ordinal))
            {
                current = line[..line.IndexOf(' ', StringComparison.Ordinal)];
                continue;
            }

            if (line.StartsWith("ButtonRelease event", StringComparison.Ordinal))
            {
                releases++;
            }

            if (current == "ButtonPress" && RootRegex().Match(line) is { Success: true } root)
            {
                presses.Add((int.Parse(root.Groups[1].Value, CultureInfo.InvariantCulture), int.Parse(root.Groups[2].Value, CultureInfo.InvariantCulture)));
                current = null;
            }
            else if (current == "KeyPress" && KeysymRegex().Match(line) is { Success: true } key)
            {
                keys.Add(key.Groups[1].Value);
                current = null;
            }
        }

        return (presses, releases, keys);
    }

    [GeneratedRegex(@"root:\((-?\d+),(-?\d+)\)")]
    private static partial Regex RootRegex();

    [GeneratedRegex(@"keysym 0x[0-9a-f]+, ([^)]+)\)")]
    private static partial Regex KeysymRegex();

    private Task<string> InBranchAsync(IReadOnlyDictionary<string, string> env, TimeSpan timeout, params string[] command)
        => Shell.RunAsync("ip", ["netns", "exec", lab.Lab.Branch, .. command], timeout, env: env);

    /// <summary>Where a branch position lands on the Xspice screen: (remote − local), the same at two points.</summary>
    private async Task<(int X, int Y)> CalibrateAsync(IReadOnlyDictionary<string, string> env, CancellationToken ct)
    {
        var last = "nothing";
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(40);
        while (true)
        {
            Assert.True(DateTime.UtcNow < deadline, $"moves in the branch never moved the Xspice pointer by the same offset at two points (xdotool there says '{last}')");
            await InBranchAsync(env, TimeSpan.FromSeconds(5), "xdotool", "mousemove", "60", "600", "click", "1", "mousemove", "70", "610");
            await Task.Delay(250, ct); // polling an observable condition, bounded by the deadline
            var a = Location(last = await RemotePointerTextAsync(ct));
            await InBranchAsync(env, TimeSpan.FromSeconds(5), "xdotool", "mousemove", "470", "410");
            await Task.Delay(250, ct);
            var b = Location(last = await RemotePointerTextAsync(ct));
            if (a is { } p && b is { } q && (p.X - 70, p.Y - 610) == (q.X - 470, q.Y - 410))
            {
                return (p.X - 70, p.Y - 610);
            }
        }
    }

    private static (int X, int Y)? Location(string xdotool) =>
        Regex.Match(xdotool, @"x:(\d+) y:(\d+)") is { Success: true } m
            ? (int.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture), int.Parse(m.Groups[2].Value, CultureInfo.InvariantCulture))
            : null;

    private async Task<string> RemotePointerTextAsync(CancellationToken ct) =>
        System.Text.Encoding.ASCII.GetString(await lab.Xspice.RunAsync("xdotool", ["getmouselocation"], TimeSpan.FromSeconds(5), ct)).Trim();
}

/// <summary>
/// Random loss on the edge connection with nftables (numgen random) in the branch (client edge → server edge) and the
/// data centre (back), in a table of its own that disposing removes.
/// </summary>
internal sealed class PacketLoss : IAsyncDisposable
{
    private const string Table = "sa_input_loss";
    private readonly NetLab _lab;

    private PacketLoss(NetLab lab) => _lab = lab;

    public static async Task<PacketLoss> AddAsync(NetLab lab, int percent, int port)
    {
        var loss = new PacketLoss(lab);
        try
        {
            await AddAsync(lab.Branch, "dport", percent, port);
            await AddAsync(lab.Dc, "sport", percent, port);
            return loss;
        }
        catch
        {
            await loss.DisposeAsync();
            throw;
        }
    }

    private static async Task AddAsync(string ns, string direction, int percent, int port)
    {
        await Shell.InNsAsync(ns, "nft", "add", "table", "inet", Table);
        await Shell.InNsAsync(ns, "nft", "add chain inet " + Table + " out { type filter hook output priority 0 ; }");
        await Shell.InNsAsync(ns, "nft", $"add rule inet {Table} out udp {direction} {port} numgen random mod 100 < {percent} counter drop");
    }

    /// <summary>Packets dropped so far, both ways (the rules' counters).</summary>
    public async Task<long> DroppedAsync()
    {
        long dropped = 0;
        foreach (var ns in new[] { _lab.Branch, _lab.Dc })
        {
            var table = await Shell.InNsAsync(ns, "nft", "list", "table", "inet", Table);
            foreach (Match m in Regex.Matches(table, @"counter packets (\d+)"))
            {
                dropped += long.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture);
            }
        }

        return dropped;
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var ns in new[] { _lab.Branch, _lab.Dc })
        {
            await Shell.RunAsync("ip", ["netns", "exec", ns, "nft", "delete", "table", "inet", Table], TimeSpan.FromSeconds(10), check: false);
        }
    }
}
